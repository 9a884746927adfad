"""Stream state: each stream's cursor, read at the start of a run and saved with each batch.

Saving happens inside the batch's transaction (the caller passes its connection), so the
cursor never runs ahead of the records it stands for.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, select

from hub import exactjson
from hub.store.db import put_row
from hub.store.models import stream_state_table

__all__ = ["all_states", "clear_state", "load_cursor", "save_cursor"]

_t = stream_state_table


def load_cursor(conn: Connection, connection: str, stream: str) -> Any:
    """The saved cursor value of a stream, or None when it has never run."""
    raw = conn.execute(select(_t.c.cursor).where(_t.c.connection == connection, _t.c.stream == stream)).scalar()
    return None if raw is None else exactjson.loads(raw)


def save_cursor(conn: Connection, connection: str, stream: str, value: Any, *, run_id: int | None, now: datetime) -> None:
    """Set a stream's cursor (in the caller's transaction)."""
    data = exactjson.dumps(value).decode()  # a partner's id past 64 bits is kept whole
    put_row(conn, _t, {"connection": connection, "stream": stream}, {"cursor": data, "run_id": run_id, "updated_at": now})


def clear_state(conn: Connection, connection: str, stream: str | None = None) -> int:
    """Forget the cursor of one stream, or of every stream of a connection; returns rows removed."""
    q = delete(_t).where(_t.c.connection == connection)
    if stream is not None:
        q = q.where(_t.c.stream == stream)
    return conn.execute(q).rowcount


def all_states(conn: Connection, connection: str | None = None) -> list[dict]:
    """Every saved cursor, optionally of one connection only."""
    q = select(_t).order_by(_t.c.connection, _t.c.stream)
    if connection is not None:
        q = q.where(_t.c.connection == connection)
    return [
        {
            "connection": r.connection,
            "stream": r.stream,
            "cursor": exactjson.loads(r.cursor),
            "run_id": r.run_id,
            "updated_at": r.updated_at.isoformat(),
        }
        for r in conn.execute(q)
    ]
