"""PostgreSQL's planner statistics kept up with a table that grows fast, as a first load makes it grow.

Every batch looks its keys up in ``records`` (``entity = ? AND key = ANY(?)``). PostgreSQL
plans that lookup from the table's statistics, which autovacuum refreshes at most once a
minute and only after a tenth of the table changed. A platform taking its first 100,000
donations, or a ``hub run`` of a large export into an empty store, outgrows them within
seconds: planned for the few rows the statistics still describe, each lookup read every
record of the entity, so each batch took longer than the one before (50 ms at 1,000
records, 500 ms at 30,000: a load quadratic in its size). The prepared statement kept
that plan until the statistics changed.

So a process that has written as many rows into a table as it held when last analysed
(and at least 5,000) runs ``ANALYZE`` on it, in a thread of its own beside the writes:
ANALYZE blocks neither reads nor writes, and samples at most 30,000 rows however large the
table is. A load from empty to a million records costs eight short analyses; measured, 100,000
donations ingested in one process into an empty store took 11.3 s instead of 81 s. Statistics
within a factor of two are enough: the plans that went wrong were made for a table hundreds of
times smaller than it was. SQLite is left as it is: its planner takes the unique index for
such a lookup without statistics.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
import weakref

from sqlalchemy import Connection, Engine, text

__all__ = ["keep_fresh"]

log = logging.getLogger("hub.store")

MIN_ROWS = 5000  # below this the plan hardly matters: every plan is fast
GROWTH = 1.0  # analyse again once the table doubled since the last time


class _Table:
    """What one process knows of one table: rows written since its last ANALYZE, and its size then."""

    __slots__ = ("written", "size", "running")

    def __init__(self) -> None:
        self.written = 0
        self.size = 0.0
        self.running = False


_lock = threading.Lock()
_tables: weakref.WeakKeyDictionary[Engine, dict[str, _Table]] = weakref.WeakKeyDictionary()
_running: set[threading.Thread] = set()
EXIT_WAIT = 10.0  # seconds a finishing process gives an analysis it started, rather than cut it off


def keep_fresh(conn: Connection, table: str, rows: int) -> None:
    """Note ``rows`` written into ``table``; start an ANALYZE of it once they match its size when last analysed."""
    if rows <= 0 or conn.dialect.name != "postgresql":
        return
    engine = conn.engine
    with _lock:
        state = _tables.setdefault(engine, {}).setdefault(table, _Table())
        state.written += rows
        if state.running or state.written < max(MIN_ROWS, GROWTH * state.size):
            return
        state.running = True
        state.written = 0
        thread = threading.Thread(target=_analyse, args=(engine, table, state), name=f"analyse-{table}", daemon=True)
        _running.add(thread)
    thread.start()


def _analyse(engine: Engine, table: str, state: _Table) -> None:
    """ANALYZE ``table`` on a connection of its own; a failure is logged, never raised: it is only a plan."""
    try:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f"ANALYZE {conn.dialect.identifier_preparer.quote(table)}"))
            size = conn.execute(text("SELECT reltuples FROM pg_class WHERE oid = to_regclass(:t)"), {"t": table}).scalar()
        with _lock:
            state.size = max(float(size or 0), 0.0)
    except Exception as exc:  # noqa: BLE001 - the writes go on; autovacuum will analyse it in time
        log.warning("store: ANALYZE %s failed (%s: %s); the next batches may be planned slowly", table, type(exc).__name__, exc)
    finally:
        with _lock:
            state.running = False
            _running.discard(threading.current_thread())


@atexit.register
def _let_analyses_finish() -> None:
    """A ``hub run`` that ends as its last analysis starts waits for it (a few seconds at most), so it is not wasted."""
    deadline = time.monotonic() + EXIT_WAIT
    for thread in list(_running):
        thread.join(max(0.0, deadline - time.monotonic()))
