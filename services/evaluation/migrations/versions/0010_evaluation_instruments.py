"""evaluation instruments (EVAL-2, issue 18): surveys and evaluation cards with one-time answer codes, their
anonymous answers, unannounced-visit (暗访) reports

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 09:40:00.000000
"""
import sqlalchemy as sa
from alembic import op


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "surveys",
        sa.Column("survey_id", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("region_code", sa.String(9), nullable=False),
        sa.Column("body_id", sa.String(64), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("questions", sa.Text(), nullable=False),
        sa.Column("case_id", sa.String(96), nullable=True),
        sa.Column("officer_id", sa.String(64), nullable=True),
        sa.Column("opens_on", sa.Date(), nullable=False),
        sa.Column("closes_on", sa.Date(), nullable=False),
        sa.Column("codes_issued", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_surveys_region_code", "surveys", ["region_code"])
    op.create_index("ix_surveys_body_id", "surveys", ["body_id"])
    op.create_table(
        "survey_codes",
        sa.Column("code_hash", sa.String(64), primary_key=True),
        sa.Column("survey_id", sa.String(64), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_survey_codes_survey_id", "survey_codes", ["survey_id"])
    op.create_table(
        "survey_answers",
        sa.Column("event_id", sa.String(64), primary_key=True),
        sa.Column("survey_id", sa.String(64), nullable=False),
        sa.Column("ratings", sa.Text(), nullable=False),
        sa.Column("average", sa.Float(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_survey_answers_survey_id", "survey_answers", ["survey_id"])
    op.create_table(
        "visit_reports",
        sa.Column("event_id", sa.String(64), primary_key=True),
        sa.Column("region_code", sa.String(9), nullable=False),
        sa.Column("body_id", sa.String(64), nullable=False),
        sa.Column("visited_on", sa.Date(), nullable=False),
        sa.Column("place", sa.String(300), nullable=False),
        sa.Column("findings", sa.Text(), nullable=False),
        sa.Column("problems", sa.Text(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("visited_by", sa.String(128), nullable=False),
        sa.Column("evaluator", sa.String(96), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_visit_reports_region_code", "visit_reports", ["region_code"])
    op.create_index("ix_visit_reports_body_id", "visit_reports", ["body_id"])


def downgrade() -> None:
    for table in ("visit_reports", "survey_answers", "survey_codes", "surveys"):
        op.drop_table(table)
