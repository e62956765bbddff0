"""annual report receipts (DISC-7, issue 18): the register of annual reports received by the
government and the superior department, and their acknowledgements (annual_report_receipts).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 09:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "annual_report_receipts",
        sa.Column("receipt_id", sa.String(200), primary_key=True),
        sa.Column("body_id", sa.String(64), nullable=False, index=True),
        sa.Column("region_code", sa.String(9), nullable=False, index=True),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("recipient_kind", sa.String(16), nullable=False),
        sa.Column("recipient", sa.String(64), nullable=False),
        sa.Column("recipient_region", sa.String(9), nullable=False, index=True),
        sa.Column("held_here", sa.Boolean(), nullable=False),
        sa.Column("sent_on", sa.Date(), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("report_event_id", sa.String(64), nullable=True),
        sa.Column("totals", sa.JSON(), nullable=True),
        sa.Column("report_url", sa.String(300), nullable=True),
        sa.Column("acknowledged_on", sa.Date(), nullable=True),
        sa.Column("acknowledged_by", sa.String(255), nullable=True))


def downgrade() -> None:
    op.drop_table("annual_report_receipts")
