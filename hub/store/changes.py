"""The change sequence: numbers that order record versions the way their transactions committed.

``/api/v1/changes?since=N`` pages on it. Timestamps or row ids would not do: two transactions
can commit in the other order than they started, and a reader that already passed a number
would never see the late one. ``take`` increments the single counter row inside the writer's
transaction, so the row stays locked until that transaction ends: the next writer waits, and
gets higher numbers only once the earlier batch is visible.
"""

from __future__ import annotations

from sqlalchemy import Connection, select, update

from hub.store.models import change_counter_table, records_table

__all__ = ["latest", "take"]

_counter = change_counter_table
_records = records_table


def take(conn: Connection, n: int) -> int:
    """Reserve ``n`` numbers in the caller's transaction; returns the first of them."""
    if n <= 0:
        return 0
    last = conn.execute(
        update(_counter).where(_counter.c.id == 1).values(value=_counter.c.value + n).returning(_counter.c.value)
    ).scalar_one()
    return last - n + 1


def latest(conn: Connection) -> int:
    """The highest change number a committed record carries (0 for an empty store)."""
    return conn.execute(select(_counter.c.value).where(_counter.c.id == 1)).scalar() or 0
