"""Shared fixtures: a hub folder with a config, and the real ``hub`` command in a subprocess."""

from __future__ import annotations

import csv
import os
import signal
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.pg_server import pg_server, pg_url  # noqa: F401 - fixtures for every test module

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

    def hub(self, *args: str, env: dict | None = None, timeout: float = 300) -> Result:
        """Run ``python -m hub ARGS`` in this folder."""
        full_env = {**os.environ, **self.env, **(env or {})}
        full_env.pop("HUB_DEBUG", None)
        p = subprocess.run(
            [sys.executable, "-m", "hub", *args],
            cwd=self.path,
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


class _FileReader:
    """``read()`` the whole of a log file written by a subprocess."""

    def __init__(self, f) -> None:
        self._f = f

    def read(self) -> str:
        self._f.flush()
        return Path(self._f.name).read_text(encoding="utf-8")


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
