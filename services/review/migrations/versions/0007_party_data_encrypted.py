"""review's copies of the parties encrypted at rest (issue 22): ``classifications.proposal``,
``review_tasks.document`` and ``decided_versions.payload`` (proposals and decisions name the parties:
names, ID numbers) become text holding ``gm1:<key id>:<SM4-GCM of the JSON>``. Existing rows keep their
JSON in clear until the background re-encrypt (the service's timer, or ``zhifa keys reencrypt --service
review``) encrypts them; until then they are read as they are.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 09:40:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

COLUMNS = (("classifications", "proposal", False), ("review_tasks", "document", False),
           ("decided_versions", "payload", False))


def upgrade() -> None:
    for table, column, nullable in COLUMNS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column(column, existing_type=sa.JSON(), type_=sa.Text(), existing_nullable=nullable,
                                  postgresql_using=f'{column}::text')


def downgrade() -> None:
    # encrypted values are not JSON: a downgrade needs the fields decrypted first (not provided)
    for table, column, nullable in COLUMNS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column(column, existing_type=sa.Text(), type_=sa.JSON(), existing_nullable=nullable,
                                  postgresql_using=f'{column}::json')
