"""Persistence for the complaint register: gap-free numbering inside the registering transaction."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from services.complaints.domain.register import format_register_number
from services.complaints.models import RegisterCounter


def allocate_number(session: Session, region_code: str, year: int) -> tuple[str, int]:
    """Next number for (region, year) — unique and gap-free (CMP-2).

    The counter row is incremented in the same transaction that inserts the complaint: a rolled-back
    registration gives its number back, two concurrent ones serialise on the row lock (PostgreSQL)
    or the database write lock (SQLite).
    """
    insert = pg_insert if session.bind.dialect.name == "postgresql" else sqlite_insert
    session.execute(insert(RegisterCounter).values(region_code=region_code, year=year, last_seq=0)
                    .on_conflict_do_nothing())
    seq = session.execute(update(RegisterCounter)
                          .where(RegisterCounter.region_code == region_code, RegisterCounter.year == year)
                          .values(last_seq=RegisterCounter.last_seq + 1)
                          .returning(RegisterCounter.last_seq)).scalar_one()
    return format_register_number(region_code[:6], year, seq), seq


def local_year(when: dt.datetime) -> int:
    return when.astimezone(dt.timezone(dt.timedelta(hours=8))).year
