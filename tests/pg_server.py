"""A real PostgreSQL server for the tests: a throwaway cluster under /tmp, one database a test.

The cluster is made with the machine's own PostgreSQL (Debian's ``postgresql`` package, which
``.ci/run`` installs) and runs as the ``postgres`` user, since initdb refuses root.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
import uuid
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from hub.localport import free_port

BIN = (
    next((Path(p) for p in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)), None)
    if Path("/usr/lib/postgresql").exists()
    else None
)


def _as_postgres(*args: str) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else list(args)


@pytest.fixture(scope="session")
def pg_server():
    assert BIN is not None and (BIN / "initdb").exists(), "PostgreSQL is not installed: .ci/run installs Debian's postgresql package"
    root = Path(tempfile.mkdtemp(prefix="wasl-pg-"))
    data = root / "data"
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    port = free_port()
    subprocess.run(
        _as_postgres(str(BIN / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C"),
        check=True,
        capture_output=True,
    )
    subprocess.run(
        _as_postgres(
            str(BIN / "pg_ctl"),
            "-D",
            str(data),
            "-l",
            str(root / "log"),
            "-w",
            "-o",
            f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off",
            "start",
        ),
        check=True,
        capture_output=True,
    )
    url = f"postgresql+psycopg://postgres@127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            create_engine(f"{url}/postgres").connect().close()
            break
        except Exception:  # noqa: BLE001 - not up yet
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    yield url
    subprocess.run(_as_postgres(str(BIN / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"), capture_output=True)
    shutil.rmtree(root, ignore_errors=True)


class Databases:
    """Hands each test an empty database of its own, made ahead of time.

    CREATE DATABASE copies the template through the write-ahead log: about 0.1 s, more when
    the machine is busy, once or twice for each of some 500 tests. A test mostly waits on its
    subprocesses, so one thread keeps the next databases ready while it runs, and drops each
    test's databases after it (0.02 s) rather than leaving 500 of them, some 3.5 GB, for the
    session's end to remove.
    """

    AHEAD = 2

    def __init__(self, server: str):
        self.server = server
        self._admin = create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
        self._worker = ThreadPoolExecutor(1, thread_name_prefix="pg-databases")
        self._ready = deque(self._worker.submit(self._create) for _ in range(self.AHEAD))

    def take(self) -> str:
        """The URL of an empty database; :meth:`drop` it when the test is over."""
        self._ready.append(self._worker.submit(self._create))
        return self._ready.popleft().result()

    def drop(self, url: str) -> None:
        """Drop the database in the background; FORCE ends what a test left connected."""
        name = url.rsplit("/", 1)[1]
        self._worker.submit(self._execute, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def close(self) -> None:
        self._worker.shutdown(wait=True, cancel_futures=False)
        self._admin.dispose()

    def _create(self) -> str:
        name = "t_" + uuid.uuid4().hex[:12]
        self._execute(f'CREATE DATABASE "{name}"')
        return f"{self.server}/{name}"

    def _execute(self, statement: str) -> None:
        with self._admin.connect() as conn:
            conn.execute(text(statement))


@pytest.fixture(scope="session")
def pg_databases(pg_server):
    databases = Databases(pg_server)
    yield databases
    databases.close()


@pytest.fixture
def pg_url(pg_databases):
    """A fresh, empty database for one test."""
    url = pg_databases.take()
    yield url
    pg_databases.drop(url)


class DatabaseAway:
    """One database refusing connections, as through a failover or a restart, until ``back()``.

    ``with DatabaseAway(pg_server, pg_url) as away:`` ``away.go()`` closes the database to new
    connections and ends those open; leaving the block always lets them in again.
    """

    def __init__(self, server: str, url: str) -> None:
        self.name = url.rsplit("/", 1)[1]
        self._admin = create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")

    def go(self) -> None:
        with self._admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{self.name}" ALLOW_CONNECTIONS false'))
            conn.execute(text(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{self.name}'"))

    def back(self) -> None:
        with self._admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{self.name}" ALLOW_CONNECTIONS true'))

    def __enter__(self) -> DatabaseAway:
        return self

    def __exit__(self, *_exc) -> None:
        self.back()
        self._admin.dispose()
