"""order-independent gate (REV-2, issue 14): the decided versions review has heard of, a monotone
classification (major by proposal OR by decision), the version up to which a case's task is closed by
a decision, and one violation per (case, version, kind).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 02:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'decided_versions',
        sa.Column('case_id', sa.String(length=64), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('region_code', sa.String(length=9), nullable=False),
        sa.Column('body_id', sa.String(length=64), nullable=False),
        sa.Column('decision_event_id', sa.String(length=64), nullable=False),
        sa.Column('decided_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('payload', sa.JSON(), nullable=False),
        sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('case_id', 'version'))
    with op.batch_alter_table('classifications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('by_proposal', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('by_decision', sa.JSON(), nullable=True))
    # rows written before: their classification is the proposal's (source 'proposal') or the decision's
    rows = sa.table('classifications', sa.column('case_id', sa.String), sa.column('version', sa.Integer),
                    sa.column('major', sa.Boolean), sa.column('fired', sa.JSON), sa.column('fired_rules', sa.JSON),
                    sa.column('sign_off_required', sa.Boolean), sa.column('layers', sa.JSON),
                    sa.column('catalogue_digest', sa.String), sa.column('source', sa.String),
                    sa.column('by_proposal', sa.JSON), sa.column('by_decision', sa.JSON))
    bind = op.get_bind()
    for r in bind.execute(sa.select(rows)).mappings().all():
        part = {"major": bool(r["major"]), "fired": r["fired"] or [
                    {"rule_id": x, "description": x, "detail": ""} for x in (r["fired_rules"] or [])],
                "sign_off_required": bool(r["sign_off_required"]), "layers": r["layers"] or [],
                "catalogue_digest": r["catalogue_digest"] or ""}
        column = 'by_decision' if r["source"] == 'decision' else 'by_proposal'
        bind.execute(rows.update().where(rows.c.case_id == r["case_id"], rows.c.version == r["version"])
                     .values({column: part}))
    with op.batch_alter_table('review_tasks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('decided_version', sa.Integer(), nullable=True))
    # one violation per (case, version, kind): keep the earliest of any repeats found before
    op.execute("DELETE FROM violations WHERE case_id IS NOT NULL AND EXISTS ("
               "SELECT 1 FROM violations v WHERE v.case_id = violations.case_id AND v.version = violations.version "
               "AND v.kind = violations.kind AND (v.detected_at < violations.detected_at OR "
               "(v.detected_at = violations.detected_at AND v.violation_id < violations.violation_id)))")
    with op.batch_alter_table('violations', schema=None) as batch_op:
        batch_op.create_unique_constraint('uq_violations_case_version_kind', ['case_id', 'version', 'kind'])


def downgrade() -> None:
    with op.batch_alter_table('violations', schema=None) as batch_op:
        batch_op.drop_constraint('uq_violations_case_version_kind', type_='unique')
    with op.batch_alter_table('review_tasks', schema=None) as batch_op:
        batch_op.drop_column('decided_version')
    with op.batch_alter_table('classifications', schema=None) as batch_op:
        batch_op.drop_column('by_decision')
        batch_op.drop_column('by_proposal')
    op.drop_table('decided_versions')
