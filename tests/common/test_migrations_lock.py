"""Replicas starting together migrate one at a time (issue 8: replicas as competing consumers; each
pod's init container migrates its service's database)."""
import subprocess
import sys

import pytest
from sqlalchemy import create_engine, text

from tests.fixtures import ROOT_DIR

pytestmark = pytest.mark.integration


def test_concurrent_migrations_of_one_postgresql_database_all_succeed(pg_admin):
    """Four processes migrate one fresh database at the same moment: all succeed, once."""
    url = pg_admin()
    code = f"from services.common.migrations import upgrade; upgrade('complaints', {url!r})"
    procs = [subprocess.Popen([sys.executable, "-c", code], cwd=ROOT_DIR, env={"PYTHONPATH": str(ROOT_DIR)},
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(4)]
    results = [p.communicate(timeout=180) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0, 0], [err[-800:] for _, err in results]
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.connect() as conn:
        versions = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    engine.dispose()
    from alembic.script import ScriptDirectory

    from services.common.migrations import alembic_config

    head = ScriptDirectory.from_config(alembic_config("complaints", url)).get_current_head()
    assert versions == [head]
