"""Runs: one row per run of a connection, its counts updated batch by batch.

A run's ``(connection, scheduled_for)`` is unique, so a scheduler that fires one slot twice
gets a refusal from the database instead of a second run.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from hub.errors import NotFoundError
from hub.store.models import Run
from hub.store.types import utcnow

__all__ = ["COUNTS", "SlotTaken", "add_counts", "create_run", "finish_run", "get_run", "list_runs", "recent_reads"]

_t = Run.__table__
COUNTS = ("read", "valid", "inserted", "updated", "unchanged", "quarantined", "delivered", "delivery_failed")


class SlotTaken(Exception):
    """Another run already holds this connection's scheduled slot."""


def create_run(engine: Engine, connection: str, *, trigger: str, scheduled_for: datetime | None = None) -> int:
    """Insert a running run; SlotTaken when the slot already has one."""
    now = utcnow()
    try:
        with engine.begin() as conn:
            return conn.execute(
                insert(_t).values(
                    connection=connection,
                    trigger=trigger,
                    scheduled_for=scheduled_for or now,
                    status="running",
                    started_at=now,
                    **{c: 0 for c in COUNTS},
                )
            ).inserted_primary_key[0]
    except IntegrityError:
        raise SlotTaken(f"{connection} already has a run for {scheduled_for}") from None


def add_counts(conn: Connection, run_id: int, counts: dict[str, int]) -> None:
    """Add a batch's counts to the run (in the batch's transaction)."""
    values = {c: _t.c[c] + n for c, n in counts.items() if n}
    if values:
        conn.execute(update(_t).where(_t.c.id == run_id).values(**values))


def finish_run(engine: Engine, run_id: int, *, status: str, error: str | None = None, flags: list[str] | None = None) -> None:
    """Close a run with its final status."""
    with engine.begin() as conn:
        conn.execute(
            update(_t)
            .where(_t.c.id == run_id)
            .values(status=status, finished_at=utcnow(), error=error, flags=orjson.dumps(flags).decode() if flags else None)
        )


def _as_dict(r) -> dict[str, Any]:
    d = {
        "id": r.id,
        "connection": r.connection,
        "trigger": r.trigger,
        "status": r.status,
        "scheduled_for": r.scheduled_for.isoformat() if r.scheduled_for else None,
        "started_at": r.started_at.isoformat() if r.started_at else None,
        "finished_at": r.finished_at.isoformat() if r.finished_at else None,
        "error": r.error,
        "flags": orjson.loads(r.flags) if r.flags else [],
    }
    d.update({c: getattr(r, c) for c in COUNTS})
    if r.started_at and r.finished_at:
        d["seconds"] = round((r.finished_at - r.started_at).total_seconds(), 3)
    return d


def get_run(engine: Engine, run_id: int) -> dict[str, Any]:
    """One run as a dict; NotFoundError when there is none."""
    with engine.connect() as conn:
        r = conn.execute(select(_t).where(_t.c.id == run_id)).first()
    if r is None:
        raise NotFoundError(f"no run {run_id}")
    return _as_dict(r)


def list_runs(engine: Engine, *, connection: str | None = None, status: str | None = None, limit: int = 20) -> list[dict[str, Any]]:
    """Newest runs first, optionally filtered."""
    q = select(_t).order_by(_t.c.id.desc()).limit(limit)
    if connection:
        q = q.where(_t.c.connection == connection)
    if status:
        q = q.where(_t.c.status == status)
    with engine.connect() as conn:
        return [_as_dict(r) for r in conn.execute(q)]


def recent_reads(engine: Engine, connection: str, *, before_id: int, n: int = 10) -> list[int]:
    """Records read by the ``n`` finished runs of ``connection`` before run ``before_id``."""
    q = (
        select(_t.c.read)
        .where(_t.c.connection == connection, _t.c.id < before_id, _t.c.status.in_(("succeeded", "partial")))
        .order_by(_t.c.id.desc())
        .limit(n)
    )
    with engine.connect() as conn:
        return list(conn.execute(q).scalars())
