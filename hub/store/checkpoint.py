"""Copying SQLite's write-ahead log back into the database from a thread, not inside a commit.

In WAL mode a commit appends its pages to the log; a *checkpoint* later copies them into the
database file and lets the log start over. By default SQLite runs that checkpoint inside the
commit that takes the log past 1,000 pages: that one writer copies the whole log and waits for
two fsyncs before its commit returns. On the platform that writer is an API request, which
then answers many times slower than the ones around it (bench/ingest.py, batch p99 against
p50), and the copying sits on the request path, where the GIL serialises it with everything else.

A long-running hub (``hub serve``, ``hub worker``) instead raises the threshold of its own
connections to a safety net and copies the log every second from a thread of its own, while
requests go on: SQLite's C code releases the GIL, so the copy runs on another core. It is a
PASSIVE checkpoint, which never waits for readers or writers and never blocks them; what it
cannot copy yet (pages a reader still needs) it copies next time. Durability does not change:
a committed transaction is in the log either way, and a crash replays the log on next open.
Short commands keep SQLite's default; other processes on the same file are not affected.
"""

from __future__ import annotations

import logging
import threading

from sqlalchemy import event
from sqlalchemy.engine import Engine

__all__ = ["SAFETY_NET_PAGES", "WalCheckpointer"]

log = logging.getLogger("hub.store")

# A commit still checkpoints by itself once the log holds this many pages (64 MiB at the
# store's 16 KiB pages): should the thread fall behind or stop, the log stays bounded.
SAFETY_NET_PAGES = 4096


def _raise_threshold(dbapi_conn, _record) -> None:
    dbapi_conn.execute(f"PRAGMA wal_autocheckpoint={SAFETY_NET_PAGES}")


class WalCheckpointer:
    """A daemon thread that checkpoints one SQLite store's log every ``every`` seconds."""

    def __init__(self, engine: Engine, every: float = 1.0) -> None:
        self.engine = engine
        self.every = every
        self.passes = 0  # checkpoints run so far (tests wait on it)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="wal-checkpoint", daemon=True)

    def start(self) -> WalCheckpointer:
        # Connections opened from now on take the raised threshold; the idle ones in the pool
        # are let go so that none keeps the default one. (Checked-out ones keep it until they
        # are closed: a commit of theirs may still checkpoint once, as before.)
        event.listen(self.engine, "connect", _raise_threshold)
        self.engine.pool.dispose()
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop the thread; the store's last connection to close checkpoints what is left."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        if event.contains(self.engine, "connect", _raise_threshold):
            event.remove(self.engine, "connect", _raise_threshold)

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            try:
                with self.engine.connect() as conn:  # a pooled connection for a moment, once a second
                    conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)").all()
            except Exception as exc:  # noqa: BLE001 - a failed pass is tried again; commits' safety net stays
                log.warning("store: background checkpoint failed, will try again: %s", exc)
            self.passes += 1
