"""review_task_officers (issue 17): the officers named by each review task's current proposal, so that an
officer.registered or certificate.status_changed re-runs the pre-checks of the tasks naming that officer
instead of locking every pending task. ``review_tasks.indexed_officers`` says which officers the task's links
hold; it is NULL for the tasks written before this revision (their documents are encrypted and are not read
here): such a task is treated as naming every officer until it is next saved.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 12:40:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'review_task_officers',
        sa.Column('task_id', sa.String(length=64), nullable=False),
        sa.Column('officer_id', sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(['task_id'], ['review_tasks.task_id']),
        sa.PrimaryKeyConstraint('task_id', 'officer_id'))
    op.create_index('ix_review_task_officers_officer_id', 'review_task_officers', ['officer_id'], unique=False)
    with op.batch_alter_table('review_tasks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('indexed_officers', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('review_tasks', schema=None) as batch_op:
        batch_op.drop_column('indexed_officers')
    op.drop_index('ix_review_task_officers_officer_id', table_name='review_task_officers')
    op.drop_table('review_task_officers')
