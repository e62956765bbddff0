"""personal data encrypted at rest (issue 22, REC-8): ``personal_data.data`` becomes text holding
``gm1:<key id>:<SM4-GCM of the JSON>``. Existing rows keep their JSON in clear until the background
re-encrypt (the service's timer, or ``zhifa keys reencrypt --service records``) encrypts them; until then
they are read as they are. Erasure (REC-8) still deletes the value and its salt.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 07:05:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('personal_data', schema=None) as batch_op:
        batch_op.alter_column('data', existing_type=sa.JSON(), type_=sa.Text(), existing_nullable=True,
                              postgresql_using='data::text')


def downgrade() -> None:
    # encrypted values are not JSON: a downgrade needs the fields decrypted first (not provided)
    with op.batch_alter_table('personal_data', schema=None) as batch_op:
        batch_op.alter_column('data', existing_type=sa.Text(), type_=sa.JSON(), existing_nullable=True,
                              postgresql_using='data::json')
