"""Shared fixtures: a hub folder with a config, and the real ``hub`` command in a subprocess."""

from __future__ import annotations

import atexit
import csv
import itertools
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest

from hub.localport import announced_url
from tests.pg_server import pg_databases, pg_server, pg_url  # noqa: F401 - fixtures for every test module

DONATION_HEADER = ["رقم الإيصال", "اسم المتبرع", "المبلغ", "العملة", "التاريخ", "طريقة الدفع"]

# The amal association's donations CSV (Arabic headers) mapped to the common schema; the
# configs of several test modules put it under their own connection.
DONATION_STREAMS = """\
    streams:
      donations:
        entity: donation
        mapping:
          id: رقم الإيصال
          association_id: {{const: assoc-amal}}
          donor.name: اسم المتبرع
          amount: {{column: المبلغ, type: decimal}}
          currency: العملة
          donated_at: {{column: التاريخ, type: datetime, format: "%d/%m/%Y"}}
          channel: {{column: طريقة الدفع, map: {{تحويل بنكي: bank_transfer, نقدي: cash}}}}
          status: {{const: received}}
"""

DONATIONS_CONFIG = (
    """\
store: sqlite:///hub.db
batch_size: {batch_size}
connections:
  amal:
    connector: csv
    settings: {{path: donations.csv}}
"""
    + DONATION_STREAMS
    + """\
    destinations: [export]
  export:
    connector: jsonl
    settings: {{folder: export}}
"""
)


@dataclass
class Result:
    """What a ``hub`` subprocess did."""

    code: int
    out: str
    err: str


class HubFolder:
    """A temporary folder holding a hub.yaml, its data files and its store.

    The store is the SQLite file the config names, or, when the suite runs with
    ``WASL_TEST_STORE=postgresql``, a fresh PostgreSQL database that every ``hub`` command of
    the test is pointed at (``HUB_STORE``), so that the same tests prove both stores.
    """

    def __init__(self, path: Path, store_url: str | None = None) -> None:
        self.path = path
        self.store_url = store_url
        self.env = {"HUB_STORE": store_url} if store_url else {}

    def write(self, name: str, text: str, encoding: str = "utf-8") -> Path:
        p = self.path / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding=encoding)
        return p

    def write_csv(self, name: str, header: list[str], rows: list[list], encoding: str = "utf-8", delimiter: str = ",") -> Path:
        p = self.path / name
        p.parent.mkdir(parents=True, exist_ok=True)
        with p.open("w", encoding=encoding, newline="") as f:
            w = csv.writer(f, delimiter=delimiter)
            w.writerow(header)
            w.writerows(rows)
        return p

    def hub(self, *args: str, env: dict | None = None, timeout: float = 300, input: str | None = None) -> Result:  # noqa: A002 - as subprocess names it
        """Run ``python -m hub ARGS`` in this folder, in a process of its own.

        The process is forked from an interpreter that has imported the hub already
        (``tests/hub_forkserver.py``), unless ``env`` sets what an interpreter decides as it
        starts (``PYTHON*``, the locale) or ``WASL_TEST_FRESH_PROCESSES=1``: then it is a fresh
        ``python -m hub``. ``input`` is its stdin (else /dev/null).
        """
        full_env = {**os.environ, **self.env, **(env or {})}
        full_env.pop("HUB_DEBUG", None)
        if not FRESH_PROCESSES and not any(k.startswith(STARTUP_ENV) for k in (env or {})):
            return _fork_server().run(list(args), self.path, full_env, timeout, input)
        p = subprocess.run(
            [sys.executable, "-m", "hub", *args],
            cwd=self.path,
            input=input,
            stdin=None if input is not None else subprocess.DEVNULL,
            capture_output=True,
            text=True,
            env=full_env,
            timeout=timeout,
        )
        return Result(p.returncode, p.stdout, p.stderr)

    def popen(self, *args: str, env: dict | None = None, ctrl_c: bool = False) -> subprocess.Popen:
        """Start ``hub ARGS`` in the background. Its stderr goes to a file (a chatty server must
        never block on a full pipe); ``proc.stderr.read()`` reads that file.

        ``ctrl_c``: SIGINT acts on it as a terminal's Ctrl-C would, even when the suite itself
        runs as a background job under make (as ``.ci/run`` runs it), which leaves SIGINT ignored for
        every process below it.
        """
        log = (self.path / f".stderr-{len(list(self.path.glob('.stderr-*')))}.log").open("w+", encoding="utf-8")
        proc = subprocess.Popen(
            [sys.executable, "-m", "hub", *args],
            cwd=self.path,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            env={**os.environ, **self.env, **(env or {})},
            preexec_fn=(lambda: signal.signal(signal.SIGINT, signal.SIG_DFL)) if ctrl_c else None,
        )
        proc.stderr = _FileReader(log)
        return proc

    def sql(self, query: str, params: tuple = ()) -> list[tuple]:
        """Read (or change, and commit) the store directly, bypassing the hub: what is on disk."""
        if self.store_url:
            from sqlalchemy import create_engine

            engine = create_engine(self.store_url)
            try:
                with engine.begin() as conn:
                    result = conn.exec_driver_sql(query.replace("?", "%s"), params)
                    return [tuple(r) for r in result] if result.returns_rows else []
            finally:
                engine.dispose()
        conn = sqlite3.connect(self.path / "hub.db")
        try:
            with conn:
                return conn.execute(query, params).fetchall()
        finally:
            conn.close()

    def execute(self, statement: str, params: tuple = ()) -> None:
        """Write to the store directly (to set up a past the hub did not make itself)."""
        if self.store_url:
            from sqlalchemy import create_engine

            engine = create_engine(self.store_url)
            try:
                with engine.begin() as conn:
                    conn.exec_driver_sql(statement.replace("?", "%s"), params)
            finally:
                engine.dispose()
            return
        conn = sqlite3.connect(self.path / "hub.db")
        try:
            conn.execute(statement, params)
            conn.commit()
        finally:
            conn.close()

    def store_exists(self) -> bool:
        """Whether the hub has created its store yet."""
        if self.store_url:
            try:
                return bool(self.sql("select 1 from alembic_version"))
            except Exception:  # noqa: BLE001 - not created yet
                return False
        return (self.path / "hub.db").exists()


# Set in the environment, these change what an interpreter decides as it starts; a command
# given one runs as a fresh interpreter.
STARTUP_ENV = ("PYTHON", "LANG", "LC_")
FRESH_PROCESSES = os.environ.get("WASL_TEST_FRESH_PROCESSES") == "1"


class _ForkServerClient:
    """Runs hub commands as children of ``tests/hub_forkserver.py``, started on first use."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="hub-fork-"))
        self.socket = self.dir / "socket"
        self.log = self.dir / "server.log"
        with self.log.open("w") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "tests.hub_forkserver", str(self.socket)],
                cwd=Path(__file__).parent.parent,
                stdin=subprocess.PIPE,  # closed when the suite ends, even killed: the server then ends too
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
            )
        if self.proc.stdout.readline().strip() != "ready":
            raise RuntimeError(f"the hub fork server did not start:\n{self.log.read_text()}")
        self._numbers = itertools.count()
        atexit.register(self.close)

    def run(self, argv: list[str], cwd: Path, env: dict, timeout: float, stdin: str | None) -> Result:
        n = next(self._numbers)
        out, err = self.dir / f"{n}.out", self.dir / f"{n}.err"
        request = {"argv": argv, "cwd": str(cwd), "env": env, "out": str(out), "err": str(err), "in": os.devnull}
        if stdin is not None:
            request["in"] = str(self.dir / f"{n}.in")
            Path(request["in"]).write_text(stdin, encoding="utf-8")
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.connect(str(self.socket))
            s.sendall((json.dumps(request) + "\n").encode())
            s.settimeout(timeout)
            answers = s.makefile("r", encoding="utf-8")
            pid = int(answers.readline())
            try:
                code = answers.readline()
            except TimeoutError:
                os.kill(pid, signal.SIGKILL)
                raise subprocess.TimeoutExpired(["hub", *argv], timeout) from None
        if not code:
            raise RuntimeError(f"the hub fork server stopped during `hub {' '.join(argv)}`:\n{self.log.read_text()}")
        try:
            return Result(int(code), out.read_text(encoding="utf-8"), err.read_text(encoding="utf-8"))
        finally:
            for name in (out, err, self.dir / f"{n}.in"):
                name.unlink(missing_ok=True)

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


_fork_server_client: _ForkServerClient | None = None
_fork_server_lock = threading.Lock()


def _fork_server() -> _ForkServerClient:
    global _fork_server_client  # noqa: PLW0603 - one server for the whole session, started on first use
    with _fork_server_lock:
        if _fork_server_client is None:
            _fork_server_client = _ForkServerClient()
        return _fork_server_client


class _FileReader:
    """``read()`` the whole of a log file written by a subprocess."""

    def __init__(self, f) -> None:
        self._f = f

    def read(self) -> str:
        self._f.flush()
        return Path(self._f.name).read_text(encoding="utf-8")


def served_port(proc: subprocess.Popen, timeout: float = 60) -> int:
    """The port ``proc``, a ``hub serve`` started by ``popen``, has bound, once its log names it.

    Start it with ``--port 0``: the kernel picks the port as the server binds it, so nothing can
    take it first. A port from ``free_port()`` could be lost to a server of the other CI leg
    that picked the same one in the same instant; that server would answer ``/readyz`` as well,
    and the test would talk to another hub's store. Only the process that bound a port names it
    in its own log.
    """
    url = None

    def announced() -> bool:
        nonlocal url
        assert proc.poll() is None, f"hub serve exited: {proc.stderr.read()}"
        url = announced_url(proc.stderr.read())
        return url is not None

    assert wait_for(announced, timeout), f"hub serve named no port within {timeout:g} s: {proc.stderr.read()}"
    return int(url.rsplit(":", 1)[1])


def wait_for(pred, timeout: float = 30) -> bool:
    """Poll ``pred`` until it holds or ``timeout`` seconds pass (for servers running in the background)."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.2)
    return False


ON_POSTGRES = os.environ.get("WASL_TEST_STORE") == "postgresql"


@pytest.fixture
def folder(tmp_path: Path, request) -> HubFolder:
    if ON_POSTGRES:
        return HubFolder(tmp_path, request.getfixturevalue("pg_url"))
    return HubFolder(tmp_path)


# One valid donation in the common schema, as an association's hub pushes it to the platform.
DONATION_RECORD = {
    "id": "D1",
    "association_id": "assoc-amal",
    "amount": "10.00",
    "currency": "SYP",
    "donated_at": "2026-10-01T10:00:00+03:00",
    "channel": "cash",
    "status": "received",
}


def donation_rows(n: int, start: int = 0) -> list[list]:
    """``n`` valid donation rows with Arabic headers' values."""
    return [
        [f"D{i:07d}", "محمد أحمد", f"{1000 + i}.50", "SYP", "15/10/2026", "نقدي" if i % 2 else "تحويل بنكي"]
        for i in range(start, start + n)
    ]


@pytest.fixture
def donations(folder: HubFolder) -> HubFolder:
    """A hub with the ``amal`` CSV connection (10 valid rows) delivering to a JSONL export."""
    folder.write("hub.yaml", DONATIONS_CONFIG.format(batch_size=5000))
    folder.write_csv("donations.csv", DONATION_HEADER, donation_rows(10), encoding="utf-8-sig")
    return folder
