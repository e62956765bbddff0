"""case transfers: the changes of a case's owner this service has accepted (SEC-2, issue 14)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24 10:00:00.000000
"""
from alembic import op

from services.common.migrations import create_case_transfers_table, drop_case_transfers_table


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_case_transfers_table(op)


def downgrade() -> None:
    drop_case_transfers_table(op)
