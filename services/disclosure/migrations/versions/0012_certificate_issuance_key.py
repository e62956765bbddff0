"""one issuance per certificate number, as a unique key (issue 20, PLAT-1)

Registering an officer with a certificate number records its issuance (发证). It was a count, then an
insert: two registrations naming one number handled at once could both find none and both insert. The
earlier of any duplicate issuances is kept (same number, the smallest id), then the partial unique index
``uq_certificate_issuance`` (certificate_no WHERE reason = '随执法人员登记') makes the insert race-free
(``INSERT … ON CONFLICT DO NOTHING``).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 16:00:00.000000
"""
import sqlalchemy as sa
from alembic import op


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

ISSUANCE = "随执法人员登记"


def upgrade() -> None:
    op.get_bind().execute(sa.text(
        "DELETE FROM certificate_records WHERE reason = :r AND id NOT IN "
        "(SELECT min(id) FROM certificate_records WHERE reason = :r GROUP BY certificate_no)"), {"r": ISSUANCE})
    op.create_index("uq_certificate_issuance", "certificate_records", ["certificate_no"], unique=True,
                    sqlite_where=sa.text(f"reason = '{ISSUANCE}'"), postgresql_where=sa.text(f"reason = '{ISSUANCE}'"))


def downgrade() -> None:
    op.drop_index("uq_certificate_issuance", table_name="certificate_records")
