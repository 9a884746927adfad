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


def new_database(server: str) -> str:
    """Create an empty database on ``server``; returns its URL."""
    name = "t_" + uuid.uuid4().hex[:12]
    admin = create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return f"{server}/{name}"


@pytest.fixture
def pg_url(pg_server):
    """A fresh, empty database for one test."""
    yield new_database(pg_server)
