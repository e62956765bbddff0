"""Alembic per service: ``services/<name>/migrations`` with its own ``alembic_version`` in its own DB."""
from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text

from services.common import registry, settings


def alembic_config(service: str, url: str | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(settings.ROOT) / "services" / service / "migrations"))
    cfg.set_main_option("sqlalchemy.url", url or settings.database_url(service))
    cfg.attributes["service"] = service
    return cfg


MIGRATION_LOCK_KEY = 0x7A68_6D67  # pg advisory lock: one migrator per database at a time


def upgrade(service: str, url: str | None = None, revision: str = "head") -> None:
    """Apply the service's migrations. On PostgreSQL under a session advisory lock: replicas that
    start together (each runs its init container) would otherwise race to create the same tables;
    the second waits, then finds the database at head and does nothing."""
    url = url or settings.database_url(service)
    if url.startswith("sqlite:///"):
        Path(url[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
    if not url.startswith("postgresql"):
        command.upgrade(alembic_config(service, url), revision)
        return
    from services.common.db import make_engine

    engine = make_engine(url, pool_size=1)
    try:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as lock:
            lock.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
            try:
                command.upgrade(alembic_config(service, url), revision)
            finally:
                lock.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK_KEY})
    finally:
        engine.dispose()


def target_metadata(service: str):
    from services.common.db import PlumbingBase

    models = registry.entry(service).models_module()
    # EXTRA_METADATA: shared tables a service opts into (``case_transfers`` of services/common/ownership.py)
    return [PlumbingBase.metadata, models.Base.metadata, *getattr(models, "EXTRA_METADATA", ())]


def _not_unmodelled_table(obj, name, type_, reflected, compare_to) -> bool:
    """Autogenerate never proposes dropping a table the models don't describe (search indexes such as
    disclosure's FTS tables are created by hand in their migration)."""
    return not (type_ == "table" and reflected and compare_to is None)


def run_env(context) -> None:
    """Body of every service's migrations/env.py (online mode only: we always have a URL)."""
    from services.common.db import make_engine

    cfg = context.config
    service = cfg.attributes.get("service") or Path(cfg.get_main_option("script_location")).parent.name
    engine = make_engine(cfg.get_main_option("sqlalchemy.url"), pool_size=1)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata(service),
                          render_as_batch=engine.dialect.name == "sqlite", compare_type=True,
                          include_object=_not_unmodelled_table)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


def create_plumbing_tables(op) -> None:
    """The tables every service database has (services/common/db.py PlumbingBase), as each service's
    first migration creates them: processed event ids, the outbox, periodic-job leases."""
    import sqlalchemy as sa

    op.create_table("job_leases",
                    sa.Column("name", sa.String(length=128), nullable=False),
                    sa.Column("holder", sa.String(length=128), nullable=False),
                    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
                    sa.PrimaryKeyConstraint("name"))
    op.create_table("outbox",
                    sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
                    sa.Column("event_id", sa.String(length=64), nullable=False),
                    sa.Column("source", sa.String(length=64), nullable=False),
                    sa.Column("event_type", sa.String(length=64), nullable=False),
                    sa.Column("envelope", sa.Text(), nullable=False),
                    sa.Column("status", sa.String(length=16), nullable=False),
                    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
                    sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
                    sa.PrimaryKeyConstraint("id"),
                    sa.UniqueConstraint("event_id"))
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_outbox_status"), ["status"], unique=False)
    op.create_table("processed_events",
                    sa.Column("consumer", sa.String(length=128), nullable=False),
                    sa.Column("event_id", sa.String(length=64), nullable=False),
                    sa.Column("event_type", sa.String(length=64), nullable=False),
                    sa.Column("processed_at", sa.DateTime(timezone=True), nullable=False),
                    sa.PrimaryKeyConstraint("consumer", "event_id"))


def drop_plumbing_tables(op) -> None:
    op.drop_table("processed_events")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_status"))
    op.drop_table("outbox")
    op.drop_table("job_leases")


def create_case_transfers_table(op) -> None:
    """``case_transfers`` (services/common/ownership.py): the case transfers a service accepting case
    events has seen (SEC-2, issue 14) — created by the migration of each such service."""
    import sqlalchemy as sa

    op.create_table("case_transfers",
                    sa.Column("event_id", sa.String(length=64), nullable=False),
                    sa.Column("case_id", sa.String(length=64), nullable=False),
                    sa.Column("from_body_id", sa.String(length=64), nullable=False),
                    sa.Column("to_body_id", sa.String(length=64), nullable=False),
                    sa.Column("to_region_code", sa.String(length=9), nullable=False),
                    sa.Column("kind", sa.String(length=32), nullable=False),
                    sa.Column("effective_at", sa.DateTime(timezone=True), nullable=False),
                    sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
                    sa.PrimaryKeyConstraint("event_id"))
    with op.batch_alter_table("case_transfers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_transfers_case_id"), ["case_id"], unique=False)


def drop_case_transfers_table(op) -> None:
    with op.batch_alter_table("case_transfers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_transfers_case_id"))
    op.drop_table("case_transfers")


def create_deadline_history_tables(op) -> None:
    """``calendar_stamps`` and ``deadline_changes`` (services/common/running_deadlines.py): the calendar
    version a service's running deadlines were recounted on, and every stored due day a new calendar moved,
    previous and new (PLAT-6, issue 16) — created by the migration of each service that stores deadlines."""
    import sqlalchemy as sa

    op.create_table("calendar_stamps",
                    sa.Column("name", sa.String(length=64), nullable=False),
                    sa.Column("version", sa.String(length=32), nullable=False),
                    sa.Column("applied_at", sa.DateTime(timezone=True), nullable=False),
                    sa.PrimaryKeyConstraint("name"))
    op.create_table("deadline_changes",
                    sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
                    sa.Column("subject", sa.String(length=32), nullable=False),
                    sa.Column("subject_id", sa.String(length=64), nullable=False),
                    sa.Column("previous_due", sa.Date(), nullable=False),
                    sa.Column("new_due", sa.Date(), nullable=False),
                    sa.Column("previous_provisional", sa.Boolean(), nullable=True),
                    sa.Column("new_provisional", sa.Boolean(), nullable=False),
                    sa.Column("previous_calendar_version", sa.String(length=32), nullable=True),
                    sa.Column("calendar_version", sa.String(length=32), nullable=False),
                    sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
                    sa.PrimaryKeyConstraint("id"))
    with op.batch_alter_table("deadline_changes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_deadline_changes_subject_id"), ["subject_id"], unique=False)


def drop_deadline_history_tables(op) -> None:
    with op.batch_alter_table("deadline_changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_deadline_changes_subject_id"))
    op.drop_table("deadline_changes")
    op.drop_table("calendar_stamps")
