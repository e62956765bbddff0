"""typical cases (CMP-7, issue 18): supervisors' selection, warning text and second-supervisor review of
典型案例 (typical_cases).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 09:40:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "typical_cases",
        sa.Column("typical_case_id", sa.String(40), primary_key=True),
        sa.Column("region_code", sa.String(9), nullable=False, index=True),
        sa.Column("body_id", sa.String(64), nullable=False, index=True),
        sa.Column("source_kind", sa.String(16), nullable=False),
        sa.Column("source_ref", sa.String(96), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("warning_text", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("author", sa.String(255), nullable=False),
        sa.Column("reviewer", sa.String(255), nullable=True),
        sa.Column("review_note", sa.Text(), nullable=True),
        sa.Column("history", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("approved_on", sa.Date(), nullable=True),
        sa.Column("event_id", sa.String(64), nullable=True),
        sa.UniqueConstraint("source_kind", "source_ref", name="uq_typical_case_source"))


def downgrade() -> None:
    op.drop_table("typical_cases")
