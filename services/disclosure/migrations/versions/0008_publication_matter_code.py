"""publications.matter_code: the enforcement matter (执法事项) of each published decision, so that review's
assistance can ask disclosure for similar published decisions of the same matter (REV-8, issue 18).
Existing rows are filled from the decision as the body sent it (decision_sources.payload).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 09:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('publications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('matter_code', sa.String(length=64), nullable=True))
        batch_op.create_index('ix_publications_matter_code', ['matter_code'], unique=False)
    bind = op.get_bind()
    sources = sa.table('decision_sources', sa.column('publication_id', sa.String), sa.column('payload', sa.JSON))
    publications = sa.table('publications', sa.column('publication_id', sa.String),
                            sa.column('matter_code', sa.String))
    for publication_id, payload in bind.execute(sa.select(sources.c.publication_id, sources.c.payload)):
        code = (payload or {}).get('matter_code')
        if code:
            bind.execute(publications.update().where(publications.c.publication_id == publication_id)
                         .values(matter_code=str(code)[:64]))


def downgrade() -> None:
    with op.batch_alter_table('publications', schema=None) as batch_op:
        batch_op.drop_index('ix_publications_matter_code')
        batch_op.drop_column('matter_code')
