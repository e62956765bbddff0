"""deadline history (PLAT-6, issue 16): the calendar version running deadlines were recounted on
(calendar_stamps) and every stored due day a new working-day schedule moved, previous and new
(deadline_changes) — services/common/running_deadlines.py

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 06:30:00
"""
from alembic import op

from services.common.migrations import create_deadline_history_tables, drop_deadline_history_tables


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_deadline_history_tables(op)


def downgrade() -> None:
    drop_deadline_history_tables(op)
