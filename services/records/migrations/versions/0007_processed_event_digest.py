"""processed_events.digest: the SHA-256 of each applied event's canonical envelope, so an id arriving
again with other content is a conflicting duplicate (dead-lettered), not a redelivery (issue 14).
Rows written before have none: their ids count as plain duplicates (content unknown).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 18:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('processed_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('digest', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('processed_events', schema=None) as batch_op:
        batch_op.drop_column('digest')
