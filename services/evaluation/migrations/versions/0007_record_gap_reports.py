"""record gap reports: gaps become accountability clues only when final (EVAL-6, issue 16)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 02:00:00.000000
"""
import sqlalchemy as sa
from alembic import op


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "record_gap_reports",
        sa.Column("event_id", sa.String(64), primary_key=True),
        sa.Column("case_id", sa.String(96), nullable=False),
        sa.Column("body_id", sa.String(64), nullable=False),
        sa.Column("region_code", sa.String(9), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("open_kinds", sa.Text(), nullable=False),
        sa.Column("gaps", sa.Text(), nullable=True),
    )
    op.create_index("ix_record_gap_reports_case_id", "record_gap_reports", ["case_id"])


def downgrade() -> None:
    op.drop_index("ix_record_gap_reports_case_id", table_name="record_gap_reports")
    op.drop_table("record_gap_reports")
