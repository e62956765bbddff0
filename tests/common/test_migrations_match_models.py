"""PLAT-1: each service's migrations build exactly the tables its models describe — a model changed without
a migration (or a migration that differs from its model: a nullable column, a missing index or unique key)
is found here, not by a production database. Alembic's own comparison (``compare_metadata``, what
``alembic revision --autogenerate`` uses), on SQLite and on PostgreSQL."""
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from services.common.migrations import _not_unmodelled_table, target_metadata

SERVICES = ("records", "review", "disclosure", "complaints", "evaluation")


@pytest.mark.parametrize("service", SERVICES)
def test_plat1_migrations_at_head_match_the_models(service, service_engine):
    engine = service_engine(service)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_object": _not_unmodelled_table,
                                                         "compare_type": False})
        differences = compare_metadata(context, target_metadata(service))
    assert differences == [], f"{service}: the migrations differ from the models: {differences}"
