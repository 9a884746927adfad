"""A long-running hub copies SQLite's write-ahead log back from a thread, not inside commits.

Real SQLite files; the proof is in the files themselves: the database file stays as it was
while a commit leaves its pages in the log, and holds every row once the thread has run
(read with ``immutable=1``, which ignores the log).
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from hub.store import Store

PAGES_PER_ROUND = 1500  # more than SQLite's default threshold (1,000 pages) in one commit


def _write_round(store: Store, rows: int = PAGES_PER_ROUND) -> None:
    """One commit of ``rows`` rows of 15 kB each: about one 16 KiB page a row."""
    with store.writing("test") as conn:
        conn.exec_driver_sql(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?) INSERT INTO blobs SELECT randomblob(15000) FROM n",
            (rows,),
        )


def _store(tmp_path: Path) -> tuple[Store, Path]:
    db = tmp_path / "hub.db"
    store = Store.open(f"sqlite:///{db}")
    with store.engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE blobs (b BLOB)")
    return store, db


def _rows_in_the_database_file(db: Path) -> int:
    """The rows the main file holds by itself, the log left aside."""
    conn = sqlite3.connect(f"file:{db}?immutable=1", uri=True)
    try:
        return conn.execute("SELECT count(*) FROM blobs").fetchone()[0]
    finally:
        conn.close()


def _wait_for_passes(store: Store, n: int) -> None:
    deadline = time.monotonic() + 30
    while store.checkpointer.passes < n:
        assert time.monotonic() < deadline, "the checkpoint thread did not run"
        time.sleep(0.01)


def test_a_big_commit_returns_with_its_pages_still_in_the_log(tmp_path):
    store, db = _store(tmp_path)
    try:
        store.checkpoint_in_background(every=3600)  # the thread will not come round during the test
        size_before = db.stat().st_size
        _write_round(store)
        # SQLite's own checkpoint would have copied the 1,500 pages into the file in the commit.
        assert db.stat().st_size == size_before
        assert Path(f"{db}-wal").stat().st_size > PAGES_PER_ROUND * 15000
        assert _rows_in_the_database_file(db) == 0
        with store.engine.connect() as conn:  # readers see the commit all the same
            assert conn.exec_driver_sql("SELECT count(*) FROM blobs").scalar() == PAGES_PER_ROUND
    finally:
        store.close()


def test_the_thread_copies_the_log_back_and_the_log_starts_over(tmp_path):
    store, db = _store(tmp_path)
    try:
        store.checkpoint_in_background(every=0.02)
        rounds = 6
        for _ in range(rounds):
            _write_round(store)
            # A pass that starts after this commit copies all of it (no reader holds the log).
            _wait_for_passes(store, store.checkpointer.passes + 2)
        assert _rows_in_the_database_file(db) == rounds * PAGES_PER_ROUND
        # Each commit after a full copy wrote the log from its start again: it holds about
        # one round, not six (the safety net alone would have let it reach 64 MiB).
        assert Path(f"{db}-wal").stat().st_size < 2 * PAGES_PER_ROUND * 16400
    finally:
        store.close()


def test_closing_the_store_stops_the_thread_and_leaves_everything_in_the_file(tmp_path):
    store, db = _store(tmp_path)
    store.checkpoint_in_background(every=3600)
    thread = store.checkpointer._thread
    _write_round(store, 200)
    store.close()
    assert not thread.is_alive()
    assert not Path(f"{db}-wal").exists()  # the last connection to close copied the log and removed it
    assert _rows_in_the_database_file(db) == 200


def test_connections_opened_later_keep_the_raised_threshold_and_a_closed_store_gives_it_back(tmp_path):
    store, _db = _store(tmp_path)
    store.checkpoint_in_background(every=3600)
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 4096
    store.close()
    reopened = Store.open(store.engine.url.render_as_string())
    try:
        with reopened.engine.connect() as conn:  # a short command keeps SQLite's default
            assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 1000
    finally:
        reopened.close()


def test_a_server_checkpoints_in_the_background_and_a_reload_moves_the_thread_to_the_new_store(tmp_path, monkeypatch):
    from hub.scheduling.server import HubServer

    monkeypatch.delenv("HUB_STORE", raising=False)  # this test is of SQLite, whichever store the suite runs on
    (tmp_path / "hub.yaml").write_text("store: sqlite:///hub.db\n", encoding="utf-8")
    server = HubServer(tmp_path / "hub.yaml", port=None)
    server.load()
    first = server.hub.store.checkpointer
    try:
        assert first is not None and first._thread.is_alive()
        server.reload()  # SIGHUP
        assert not first._thread.is_alive()
        assert server.hub.store.checkpointer._thread.is_alive()
    finally:
        server.hub.close()
