"""complainant identity encrypted at rest (issue 22): the four complainant columns become text wide enough
for ``gm1:<key id>:<SM4-GCM>`` (``request`` and ``facts``, the complainant's own words, are encrypted too:
already text, their type is unchanged); ``complainant_id_index`` holds the ID number's blind index (HMAC-SM3).
Existing rows keep their plaintext until the background re-encrypt (the service's timer, or
``zhifa keys reencrypt --service complaints``) encrypts them and fills the index; until then they are read
as they are.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 07:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

COLUMNS = (('complainant_name', 100), ('complainant_phone', 32), ('complainant_id_number', 32),
           ('complainant_address', 300))


def upgrade() -> None:
    with op.batch_alter_table('complaints', schema=None) as batch_op:
        for name, size in COLUMNS:
            batch_op.alter_column(name, existing_type=sa.String(length=size), type_=sa.Text(), existing_nullable=True)
        batch_op.add_column(sa.Column('complainant_id_index', sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f('ix_complaints_complainant_id_index'), ['complainant_id_index'],
                              unique=False)


def downgrade() -> None:
    # ciphertexts do not fit the old widths: a downgrade needs the fields decrypted first (not provided)
    with op.batch_alter_table('complaints', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_complaints_complainant_id_index'))
        batch_op.drop_column('complainant_id_index')
        for name, size in COLUMNS:
            batch_op.alter_column(name, existing_type=sa.Text(), type_=sa.String(length=size), existing_nullable=True)
