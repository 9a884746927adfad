"""The outbox: record versions waiting for each destination, drained after they are committed.

Rows are written in the same transaction as the records they carry, so a committed record is
never forgotten by its destinations; a delivery repeated after a crash carries the same
idempotency key, so the receiver applies it once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, or_, select, update

from hub.store.bulk import in_clauses, insert_many
from hub.store.models import outbox_table
from hub.text.controls import escape_controls

__all__ = [
    "Waiting",
    "enqueue",
    "mark_delivered",
    "mark_failed",
    "mark_retry",
    "pending",
    "pending_count",
    "requeue_rejected",
    "status_of",
    "waiting",
]

_t = outbox_table


def enqueue(
    conn: Connection,
    destinations: list[str],
    entity: str,
    versions: list[tuple[str, int, str, str]],
    *,
    run_id: int | None,
    now: datetime,
) -> int:
    """Queue each new record version for each destination; returns rows added."""
    rows = [
        {
            "destination": d,
            "entity": entity,
            "key": key,
            "version": version,
            "idempotency_key": f"{entity}:{key}:v{version}:{h[:16]}",  # hub.pipeline.backfill builds it in SQL too
            "payload": data,
            "status": "pending",
            "attempts": 0,
            "run_id": run_id,
            "created_at": now,
        }
        for d in destinations
        for key, version, h, data in versions
    ]
    if rows:
        insert_many(conn, _t, rows)
    return len(rows)


def pending(conn: Connection, destination: str, *, now: datetime, limit: int, after_id: int = 0) -> list[dict[str, Any]]:
    """The oldest deliverable rows for a destination (pending, and due if they were retried) after row ``after_id``.

    Each row's record is its stored JSON text (``raw``), not parsed here: most destinations
    forward it as it is, and :class:`hub.sdk.Delivery` parses it for those that ask.
    """
    q = (
        select(_t.c.id, _t.c.entity, _t.c.key, _t.c.version, _t.c.idempotency_key, _t.c.payload, _t.c.attempts)
        .where(_t.c.destination == destination, _t.c.status == "pending", _t.c.id > after_id)
        .where(or_(_t.c.next_attempt_at.is_(None), _t.c.next_attempt_at <= now))
        .order_by(_t.c.id)
        .limit(limit)
    )
    return [
        {"id": r[0], "entity": r[1], "key": r[2], "version": r[3], "idempotency_key": r[4], "raw": r[5], "attempts": r[6]}
        for r in conn.execute(q).all()
    ]


def pending_count(conn: Connection, destination: str | None = None) -> int:
    """Rows still to deliver."""
    q = select(func.count()).select_from(_t).where(_t.c.status == "pending")
    if destination:
        q = q.where(_t.c.destination == destination)
    return conn.execute(q).scalar_one()


@dataclass(frozen=True)
class Waiting:
    """What a destination has not taken yet: how many versions, since when, and why not."""

    pending: int
    oldest: datetime
    next_attempt_at: datetime | None  # the latest retry time set; None if none failed yet
    last_error: str | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "pending": self.pending,
            "oldest": self.oldest.isoformat(),
            "next_attempt_at": self.next_attempt_at.isoformat() if self.next_attempt_at else None,
            "last_error": self.last_error,
        }


def waiting(conn: Connection, destinations: list[str] | None = None) -> dict[str, Waiting]:
    """Per destination with something pending: what is waiting (a platform that was away shows here)."""
    q = (
        select(_t.c.destination, func.count(), func.min(_t.c.created_at), func.max(_t.c.next_attempt_at))
        .where(_t.c.status == "pending")
        .group_by(_t.c.destination)
    )
    if destinations is not None:
        q = q.where(_t.c.destination.in_(destinations))
    out = {}
    for destination, n, oldest, retry in conn.execute(q).all():
        error = conn.execute(
            select(_t.c.last_error)
            .where(_t.c.destination == destination, _t.c.status == "pending", _t.c.last_error.is_not(None))
            .order_by(_t.c.id.desc())
            .limit(1)
        ).scalar()
        out[destination] = Waiting(n, oldest, retry, error)
    return out


def mark_delivered(conn: Connection, ids: list[int], *, now: datetime) -> None:
    """Delivered: the destination took these (or already had them)."""
    _mark(conn, ids, status="delivered", delivered_at=now, attempts=_t.c.attempts + 1)


def mark_failed(conn: Connection, ids: list[int], *, error: str) -> None:
    """Rejected for good: the records went to quarantine; the rows stay for the record."""
    _mark(conn, ids, status="rejected", last_error=escape_controls(error), attempts=_t.c.attempts + 1)


def mark_retry(conn: Connection, ids: list[int], *, error: str, next_attempt_at: datetime) -> None:
    """A transient failure: try again from ``next_attempt_at`` (the error as text: hub.text.controls)."""
    _mark(conn, ids, last_error=escape_controls(error), next_attempt_at=next_attempt_at, attempts=_t.c.attempts + 1)


def due_now(conn: Connection, destinations: list[str], *, now: datetime) -> int:
    """Make the rows that wait out a retry's backoff for ``destinations`` due at once; returns how many.

    A person who knows the receiver is back (the platform's outage is over) need not wait up to
    an hour for the backoff. ``attempts`` is kept, so a receiver still down backs off as before.
    """
    if not destinations:
        return 0
    return (
        conn.execute(
            update(_t)
            .where(_t.c.destination.in_(destinations), _t.c.status == "pending", _t.c.next_attempt_at > now)
            .values(next_attempt_at=None)
        ).rowcount
        or 0
    )


def _mark(conn: Connection, ids: list[int], **values) -> None:
    for clause, params in in_clauses(conn, _t.c.id, ids):
        conn.execute(update(_t).where(clause).values(**values), params)


def requeue_rejected(conn: Connection, destination: str, entity: str, payload: str) -> tuple[int, str] | None:
    """Put the latest rejected delivery of this very version (its canonical JSON) back to pending.

    Returns the row's id and the record's key; None when no such row is kept (retention).
    """
    row = conn.execute(
        select(_t.c.id, _t.c.key)
        .where(_t.c.destination == destination, _t.c.status == "rejected", _t.c.entity == entity, _t.c.payload == payload)
        .order_by(_t.c.id.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    conn.execute(update(_t).where(_t.c.id == row.id).values(status="pending", next_attempt_at=None, last_error=None))
    return row.id, row.key


def status_of(conn: Connection, row_id: int) -> str | None:
    """A row's status (pending, delivered, rejected); None if it is gone."""
    return conn.execute(select(_t.c.status).where(_t.c.id == row_id)).scalar()
