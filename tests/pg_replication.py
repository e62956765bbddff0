"""A PostgreSQL primary with a synchronous streaming-replication standby of the tests' OWN (two
temporary clusters on free ports, initdb as the postgres user; the machine's cluster on 5432 is not
touched) — used by tests/integration/test_pg_failover.py and the chaos suite (tests/chaos, issue 20,
PLAT-1): kill -9 of the primary, promotion of the standby, and a new standby from the promoted primary
(so that a run can fail over again).

Replication is synchronous (``synchronous_standby_names = '*'``): a commit a service saw succeed is on
the standby. With asynchronous replication the last acknowledged transactions can be lost at a
failover — see RUNBOOK "PostgreSQL failover".
"""
from __future__ import annotations

import glob
import os
import shutil
import signal
import subprocess

import psycopg

from tests.fixtures import free_port, wait_for

INITDB = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))


def as_postgres(*argv, check=True, **kw):
    return subprocess.run(["runuser", "-u", "postgres", "--", *argv], check=check, capture_output=True,
                          text=True, timeout=120, **kw)


class Cluster:
    """One temporary PostgreSQL cluster (data folder, port, log) run as the postgres user."""

    def __init__(self, bindir: str, root: str, name: str, port: int | None = None):
        self.bindir, self.data, self.port = bindir, os.path.join(root, name), port or free_port()
        self.log, self.sockets = os.path.join(root, f"{name}.log"), root

    def conf(self, **values):
        with open(os.path.join(self.data, "postgresql.auto.conf"), "a") as f:
            for key, value in values.items():
                f.write(f"{key} = '{value}'\n")

    def start(self):
        as_postgres(f"{self.bindir}/pg_ctl", "-D", self.data, "-l", self.log, "-w", "-t", "60", "start")

    def dsn(self, db="postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{db}"

    def kill9(self):
        """The machine is gone: SIGKILL to the postmaster and every child at once (no shutdown)."""
        with open(os.path.join(self.data, "postmaster.pid")) as f:
            pid = int(f.readline())
        children = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
        for victim in [pid, *map(int, children)]:
            try:
                os.kill(victim, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def promote(self):
        as_postgres(f"{self.bindir}/pg_ctl", "-D", self.data, "-w", "promote")

    def stop(self):
        as_postgres(f"{self.bindir}/pg_ctl", "-D", self.data, "-m", "immediate", "-w", "stop", check=False)


class ReplicatedPostgres:
    """A primary and a synchronous streaming standby (pg_basebackup -R) under ``root``, on free ports.

    ``hosts()`` is the host list of both, for multi-host URLs (the services follow the primary with
    ``target_session_attrs=read-write``); ``fail_over()`` kills the primary and promotes the standby;
    ``rebuild_standby()`` makes the dead primary's place (same port) a new standby of the promoted one."""

    def __init__(self, root: str):
        if not INITDB:
            raise RuntimeError("PostgreSQL server binaries (initdb) are not installed")
        self.bindir = os.path.dirname(INITDB[-1])
        self.root = root
        os.makedirs(root, exist_ok=True)
        shutil.chown(root, "postgres", "postgres")
        self.primary, self.standby = Cluster(self.bindir, root, "pg-a"), Cluster(self.bindir, root, "pg-b")
        self.generation = 0

    def start(self) -> "ReplicatedPostgres":
        as_postgres(f"{self.bindir}/initdb", "-D", self.primary.data, "-U", "postgres", "--auth=trust", "-E", "UTF8",
                    "--no-sync", "--locale=C.UTF-8")
        self.primary.conf(port=self.primary.port, listen_addresses="127.0.0.1", unix_socket_directories=self.root,
                          wal_level="replica", max_wal_senders=5, hot_standby="on", fsync="off",
                          full_page_writes="on", max_connections=200)
        self.primary.start()
        self._attach_standby()
        return self

    def _attach_standby(self):
        standby = self.standby
        shutil.rmtree(standby.data, ignore_errors=True)
        as_postgres(f"{self.bindir}/pg_basebackup", "-h", "127.0.0.1", "-p", str(self.primary.port), "-U", "postgres",
                    "-D", standby.data, "-R", "-X", "stream", "--checkpoint=fast")
        # the base backup copied the primary's settings: its own port, no synchronous standby of its own
        standby.conf(port=standby.port, synchronous_standby_names="")
        standby.start()
        with psycopg.connect(self.primary.dsn(), autocommit=True) as conn:
            wait_for(lambda: conn.execute("SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'")
                     .fetchone()[0] == 1, timeout=60, message="standby streaming")
            conn.execute("ALTER SYSTEM SET synchronous_standby_names = '*'")
            conn.execute("SELECT pg_reload_conf()")
            wait_for(lambda: conn.execute("SELECT sync_state FROM pg_stat_replication").fetchone()[0] == "sync",
                     timeout=60, message="standby synchronous")

    def hosts(self) -> list[tuple[str, int]]:
        """Both clusters, in a fixed order (the ports stay the same across fail-overs)."""
        return sorted([("127.0.0.1", self.primary.port), ("127.0.0.1", self.standby.port)], key=lambda h: h[1])

    def url(self, db: str, user: str = "postgres") -> str:
        """The multi-host SQLAlchemy URL the services use (as ZHIFA_DB_HOSTS builds it)."""
        hosts = "&".join(f"host={h}:{p}" for h, p in self.hosts())
        return f"postgresql://{user}@/{db}?{hosts}&target_session_attrs=read-write&connect_timeout=3"

    def conninfo(self, db: str, user: str = "postgres") -> str:
        """The same for libpq / psycopg directly."""
        hosts = self.hosts()
        return (f"host={','.join(h for h, _ in hosts)} port={','.join(str(p) for _, p in hosts)} dbname={db} "
                f"user={user} target_session_attrs=read-write connect_timeout=3")

    def create_database(self, name: str) -> None:
        with psycopg.connect(self.primary.dsn(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')

    def kill_primary(self) -> None:
        self.primary.kill9()

    def promote_standby(self) -> None:
        self.standby.promote()
        self.primary, self.standby = self.standby, self.primary     # roles swap; ports stay
        self.generation += 1

    def rebuild_standby(self) -> None:
        """After a promotion: the old primary (killed) becomes a fresh standby of the new primary."""
        self.standby.stop()
        self._attach_standby()

    def stop(self) -> None:
        for cluster in (self.primary, self.standby):
            cluster.stop()
