"""case-file review (REC-7, issue 18): the yearly draws of archived case files (case_file_draws) and
each drawn file's reviewer, score sheet and result (case_file_reviews).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 09:20:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "case_file_draws",
        sa.Column("draw_id", sa.String(64), primary_key=True),
        sa.Column("region_code", sa.String(9), nullable=False, index=True),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("public_value", sa.String(200), nullable=False),
        sa.Column("seed_hex", sa.String(64), nullable=False),
        sa.Column("per_body", sa.Integer(), nullable=False),
        sa.Column("population", sa.JSON(), nullable=False),
        sa.Column("population_digest", sa.String(64), nullable=False),
        sa.Column("drawn_by", sa.String(255), nullable=False),
        sa.Column("drawn_at", sa.DateTime(timezone=True), nullable=False))
    op.create_table(
        "case_file_reviews",
        sa.Column("review_id", sa.String(160), primary_key=True),
        sa.Column("draw_id", sa.String(64), nullable=False, index=True),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("region_code", sa.String(9), nullable=False, index=True),
        sa.Column("body_id", sa.String(64), nullable=False, index=True),
        sa.Column("case_id", sa.String(64), nullable=False),
        sa.Column("action_type", sa.String(32), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reviewer", sa.String(255), nullable=True),
        sa.Column("reviewer_body_id", sa.String(64), nullable=True),
        sa.Column("assigned_by", sa.String(255), nullable=True),
        sa.Column("score", sa.String(8), nullable=True),
        sa.Column("passed", sa.Boolean(), nullable=True),
        sa.Column("items", sa.JSON(), nullable=True),
        sa.Column("failed_items", sa.JSON(), nullable=True),
        sa.Column("scored_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("event_id", sa.String(64), nullable=True))


def downgrade() -> None:
    op.drop_table("case_file_reviews")
    op.drop_table("case_file_draws")
