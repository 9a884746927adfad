"""Runs: one row per run of a connection, its counts updated batch by batch.

A run's ``(connection, scheduled_for)`` is unique, so a scheduler that fires one slot twice
gets a refusal from the database instead of a second run.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from hub.errors import NotFoundError
from hub.store.models import Run
from hub.store.types import utcnow
from hub.text.controls import escape_controls

__all__ = [
    "COUNTS",
    "run_status",
    "SlotTaken",
    "add_counts",
    "claim_run",
    "create_run",
    "finish_run",
    "get_run",
    "heartbeat",
    "list_runs",
    "recent_reads",
    "requeue_lost",
]

_t = Run.__table__
COUNTS = ("read", "valid", "inserted", "updated", "unchanged", "quarantined", "delivered", "delivery_failed")


class SlotTaken(Exception):
    """Another run already holds this connection's scheduled slot."""


def create_run(engine: Engine, connection: str, *, trigger: str, scheduled_for: datetime | None = None, status: str = "running") -> int:
    """Insert a run (running, or queued for a worker); SlotTaken when the slot already has one."""
    now = utcnow()
    try:
        with engine.begin() as conn:
            return conn.execute(
                insert(_t).values(
                    connection=connection,
                    trigger=trigger,
                    scheduled_for=scheduled_for or now,
                    status=status,
                    started_at=now if status == "running" else None,
                    **{c: 0 for c in COUNTS},
                )
            ).inserted_primary_key[0]
    except IntegrityError:
        raise SlotTaken(f"{connection} already has a run for {scheduled_for}") from None


def claim_run(engine: Engine, run_id: int, worker: str) -> str | None:
    """Take a queued run for ``worker``: its connection, or None.

    None when the run is not queued any more (another worker took it), or when another run of
    the same connection is running: one connection never runs twice at once.
    """
    now = utcnow()
    other = _t.alias("other")
    busy = select(other.c.id).where(other.c.connection == _t.c.connection, other.c.status == "running").exists()
    with engine.begin() as conn:
        res = conn.execute(
            update(_t)
            .where(_t.c.id == run_id, _t.c.status == "queued", ~busy)
            .values(
                status="running",
                worker=worker,
                heartbeat_at=now,
                started_at=func.coalesce(_t.c.started_at, now),
                attempts=_t.c.attempts + 1,
            )
        )
        if res.rowcount != 1:
            return None
        return conn.execute(select(_t.c.connection).where(_t.c.id == run_id)).scalar()


def heartbeat(engine: Engine, run_id: int, worker: str) -> bool:
    """Renew a run's lease; False when the run is no longer this worker's."""
    with engine.begin() as conn:
        return (
            conn.execute(
                update(_t).where(_t.c.id == run_id, _t.c.worker == worker, _t.c.status == "running").values(heartbeat_at=utcnow())
            ).rowcount
            == 1
        )


def requeue_lost(engine: Engine, lease_seconds: float) -> list[int]:
    """Runs whose worker stopped renewing its lease, put back in the queue; returns their ids."""
    cutoff = utcnow() - timedelta(seconds=lease_seconds)
    with engine.begin() as conn:
        ids = list(
            conn.execute(
                select(_t.c.id).where(_t.c.status == "running", _t.c.heartbeat_at.is_not(None), _t.c.heartbeat_at < cutoff)
            ).scalars()
        )
        if ids:
            conn.execute(update(_t).where(_t.c.id.in_(ids), _t.c.status == "running").values(status="queued", worker=None))
    return ids


def add_counts(conn: Connection, run_id: int, counts: dict[str, int]) -> None:
    """Add a batch's counts to the run (in the batch's transaction)."""
    values = {c: _t.c[c] + n for c, n in counts.items() if n}
    if values:
        conn.execute(update(_t).where(_t.c.id == run_id).values(**values))


def finish_run(engine: Engine, run_id: int, *, status: str, error: str | None = None, flags: list[str] | None = None) -> None:
    """Close a run with its final status.

    ``error`` is often a connector's or a partner's words: its control characters are written
    out, since PostgreSQL cannot store a NUL in text and a terminal acts on an ESC.
    """
    with engine.begin() as conn:
        conn.execute(
            update(_t)
            .where(_t.c.id == run_id)
            .values(
                status=status,
                finished_at=utcnow(),
                error=escape_controls(error) if error else error,
                flags=orjson.dumps(flags).decode() if flags else None,
            )
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
        "worker": r.worker,
        "attempts": r.attempts,
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


def list_runs(
    engine: Engine, *, connection: str | None = None, status: str | None = None, limit: int = 20, connections: list[str] | None = None
) -> list[dict[str, Any]]:
    """Newest runs first, optionally filtered (``connections``: only runs of these)."""
    q = select(_t).order_by(_t.c.id.desc()).limit(limit)
    if connection:
        q = q.where(_t.c.connection == connection)
    if connections is not None:
        q = q.where(_t.c.connection.in_(connections))
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


def run_status(engine: Engine, run_id: int) -> str | None:
    """A run's status, or None when there is no such run."""
    with engine.connect() as conn:
        return conn.execute(select(_t.c.status).where(_t.c.id == run_id)).scalar()
