"""decision sources encrypted at rest (issue 22): ``decision_sources.payload`` — the decision as the body
sent it, parties before redaction — becomes text holding ``gm1:<key id>:<SM4-GCM of the JSON>``. Existing
rows keep their JSON in clear until the background re-encrypt (the service's timer, or ``zhifa keys
reencrypt --service disclosure``) encrypts them; until then they are read as they are.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 09:40:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('decision_sources', schema=None) as batch_op:
        batch_op.alter_column('payload', existing_type=sa.JSON(), type_=sa.Text(), existing_nullable=False,
                              postgresql_using='payload::text')


def downgrade() -> None:
    # encrypted values are not JSON: a downgrade needs the fields decrypted first (not provided)
    with op.batch_alter_table('decision_sources', schema=None) as batch_op:
        batch_op.alter_column('payload', existing_type=sa.Text(), type_=sa.JSON(), existing_nullable=False,
                              postgresql_using='payload::json')
