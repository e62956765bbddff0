"""typical cases on the portal (CMP-7, issue 18): the redacted 典型案例 published from
evaluation.typical_case_approved (typical_case_publications).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 09:45:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "typical_case_publications",
        sa.Column("typical_case_id", sa.String(40), primary_key=True),
        sa.Column("region_code", sa.String(9), nullable=False, index=True),
        sa.Column("body_id", sa.String(64), nullable=False),
        sa.Column("body_name", sa.String(200), nullable=False),
        sa.Column("source_kind", sa.String(16), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("warning_text", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("redactions", sa.JSON(), nullable=False),
        sa.Column("withheld_reason", sa.Text(), nullable=True),
        sa.Column("approved_on", sa.Date(), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False, index=True),
        sa.Column("event_id", sa.String(64), nullable=False))


def downgrade() -> None:
    op.drop_table("typical_case_publications")
