"""Runs: one row per run of a connection, its counts updated batch by batch.

A run's ``(connection, scheduled_for)`` is unique, so a scheduler that fires one slot twice
gets a refusal from the database instead of a second run.

A running run holds its connection: whoever runs it (``hub run``, ``hub serve``, a worker)
writes its ``worker`` and renews ``heartbeat_at`` while it works, and no other run of the
connection starts while that lease is fresh, whichever process asks. Two runs of one source
at once would read the same rows and race on its cursor. A run whose process was killed stops
renewing: once its lease lapses it is marked interrupted (or, a worker's, queued again), and
its connection is free. The next run resumes after its last committed batch.

A scheduled slot that finds its connection busy is not run (the run going on reads what it
would have read) but kept as a ``skipped`` run, so ``hub runs``, ``hub status`` and the
metrics show a schedule tighter than its runs. Slots skipped one after another while the same
run holds the connection share one row, which counts them.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from hub.errors import HubError, NotFoundError
from hub.processes import alive
from hub.store.db import Store
from hub.store.models import runs_table
from hub.store.types import utcnow
from hub.text.controls import escape_controls

__all__ = [
    "COUNTS",
    "ConnectionBusy",
    "run_status",
    "STATUSES",
    "SlotTaken",
    "add_counts",
    "claim_run",
    "close_lapsed",
    "finish_run",
    "get_run",
    "heartbeat",
    "last_ran",
    "list_runs",
    "queue_run",
    "recent_reads",
    "requeue_lost",
    "running_run",
    "skip_slot",
    "start_run",
]

_t = runs_table
COUNTS = ("read", "valid", "inserted", "updated", "unchanged", "quarantined", "skipped", "delivered", "delivery_failed")
STATUSES = ("queued", "running", "succeeded", "partial", "failed", "interrupted", "skipped")


class SlotTaken(Exception):
    """Another run already holds this connection's scheduled slot."""


class ConnectionBusy(HubError):
    """Another run of the connection is running now, and its lease is fresh: try again later."""

    exit_code = 75  # EX_TEMPFAIL: nothing is wrong, only not now

    def __init__(self, run: dict[str, Any], lease_seconds: float) -> None:
        now = utcnow()
        heard = datetime.fromisoformat(run["heartbeat_at"] or run["started_at"])
        silent = max(0, round((now - heard).total_seconds()))
        super().__init__(
            f"{run['connection']} is running already: run {run['id']} ({run['trigger']}, by {run['worker'] or 'another hub'}), "
            f"last heard from {silent} s ago",
            hint=f"wait for it to finish (hub runs show {run['id']}); a run whose process was killed frees its connection at once "
            f"on this machine, and {lease_seconds:g} s after it was last heard from on another (lease_seconds in hub.yaml)",
        )
        self.run = run


def _last_heard():
    return func.coalesce(_t.c.heartbeat_at, _t.c.started_at)


def queue_run(engine: Engine, connection: str, *, trigger: str, scheduled_for: datetime | None = None) -> int:
    """Insert a run queued for a worker; SlotTaken when the slot already has one (``start_run`` starts one here)."""
    with engine.begin() as conn:
        return _insert_in_slot(conn, connection, scheduled_for or utcnow(), trigger=trigger, status="queued")


def start_run(
    conn: Connection,
    connection: str,
    *,
    trigger: str,
    scheduled_for: datetime | None,
    worker: str,
    lease_seconds: float,
) -> int:
    """Insert a running run held by ``worker``, in ``conn``, a transaction that holds the store's write lock.

    SlotTaken when the slot already has a run (another scheduler fired it). ConnectionBusy when
    another run holds the connection; one whose process is gone is marked interrupted first.
    The caller's write lock makes the look and the insert one step, so two processes asking
    at once cannot both start.
    """
    now = utcnow()
    if scheduled_for is not None:
        _refuse_taken(conn, connection, scheduled_for)
    holder = _free_or_holder(conn, connection, lease_seconds)
    if holder is not None:
        raise ConnectionBusy(holder, lease_seconds)
    return _insert_in_slot(
        conn,
        connection,
        scheduled_for or now,
        trigger=trigger,
        status="running",
        started_at=now,
        worker=worker,
        heartbeat_at=now,
    )


def _refuse_taken(conn: Connection, connection: str, scheduled_for: datetime) -> None:
    """SlotTaken when ``connection`` already has a run (or a skipped one) for ``scheduled_for``."""
    if conn.execute(select(_t.c.id).where(_t.c.connection == connection, _t.c.scheduled_for == scheduled_for)).first():
        raise SlotTaken(f"{connection} already has a run for {scheduled_for}")


def _insert_in_slot(conn: Connection, connection: str, scheduled_for: datetime, **values) -> int:
    """Insert a run of ``connection`` for ``scheduled_for``; SlotTaken if another took the slot meanwhile."""
    try:
        return conn.execute(
            insert(_t).values(connection=connection, scheduled_for=scheduled_for, **{c: 0 for c in COUNTS}, **values)
        ).inserted_primary_key[0]
    except IntegrityError:  # the unique slot keeps the last word, whatever a look before saw
        raise SlotTaken(f"{connection} already has a run for {scheduled_for}") from None


def skip_slot(conn: Connection, connection: str, *, trigger: str, scheduled_for: datetime, holder: dict[str, Any]) -> int:
    """Keep slot ``scheduled_for``, which found ``connection`` held by run ``holder``, as a skipped run; its id.

    While the same run holds the connection, later slots join the row it opened: ``attempts``
    counts the slots, ``started_at`` is when the first was skipped, ``scheduled_for`` the last
    slot. SlotTaken when the slot already has a run (another scheduler fired it). ``conn``
    holds the store's write lock for ``runs:CONNECTION``, as ``start_run``'s does.
    """
    _refuse_taken(conn, connection, scheduled_for)
    now = utcnow()
    last = conn.execute(
        select(_t.c.id, _t.c.status, _t.c.scheduled_for, _t.c.attempts)
        .where(_t.c.connection == connection)
        .order_by(_t.c.id.desc())
        .limit(1)
    ).first()
    if last is not None and last.status == "skipped" and last.id > holder["id"]:
        # Nothing started since this row was opened, and the run it names still holds the connection.
        if scheduled_for > last.scheduled_for:  # a late twin of an older slot counts once
            n = last.attempts + 1
            conn.execute(
                update(_t)
                .where(_t.c.id == last.id)
                .values(scheduled_for=scheduled_for, finished_at=now, attempts=n, flags=_skip_note(n, holder))
            )
        return last.id
    return _insert_in_slot(
        conn,
        connection,
        scheduled_for,
        trigger=trigger,
        status="skipped",
        started_at=now,
        finished_at=now,
        attempts=1,
        flags=_skip_note(1, holder),
    )


def _skip_note(slots: int, holder: dict[str, Any]) -> str:
    return orjson.dumps([f"{slots} slot{'s' if slots > 1 else ''} skipped: run {holder['id']} was still running"]).decode()


def _running(conn: Connection, *where):
    """The running runs (``where``: further conditions), with what judges whether each still holds its connection."""
    return conn.execute(
        select(_t.c.id, _t.c.worker, _t.c.attempts, _t.c.started_at, _last_heard().label("heard"))
        .where(_t.c.status == "running", *where)
        .order_by(_t.c.id)
    ).all()


def _judge(conn: Connection, connection: str, lease_seconds: float) -> tuple[dict[str, Any] | None, list[int]]:
    """The run that holds ``connection`` (as a dict, or None), and the in-process runs of it whose process is gone.

    An in-process run whose process this machine can see holds its connection exactly while
    that process lives; otherwise while its lease is fresh. A worker's run that lost its lease
    is in neither: the reaper queues it again.
    """
    cutoff = utcnow() - timedelta(seconds=lease_seconds)
    judged = [(r.id, _holds(r, cutoff)) for r in _running(conn, _t.c.connection == connection)]
    live = [i for i, holds in judged if holds]
    holder = _as_dict(conn.execute(select(_t).where(_t.c.id == live[0])).one()) if live else None
    return holder, [i for i, holds in judged if holds is False]


def _free_or_holder(conn: Connection, connection: str, lease_seconds: float) -> dict[str, Any] | None:
    """The run that holds ``connection``, or None once the runs whose process is gone are marked interrupted."""
    holder, ended = _judge(conn, connection, lease_seconds)
    if holder is None:
        _interrupt(conn, ended)
    return holder


def _holds(r, cutoff: datetime) -> bool | None:
    """Whether running run ``r`` holds its connection: True, False (its process is gone), None (a worker's, lapsed)."""
    seen = alive(r.worker, r.started_at) if r.attempts == 0 else None
    if seen is not None:
        return seen
    if r.heard is not None and r.heard >= cutoff:
        return True
    return False if r.attempts == 0 else None


_GONE = "its process stopped without a word (killed?); the next run resumes after the last committed batch"


def _interrupt(conn: Connection, ids: list[int], error: str = _GONE) -> list[int]:
    """Mark these running runs interrupted, saying why (by default: their process is gone)."""
    if ids:
        conn.execute(
            update(_t).where(_t.c.id.in_(ids), _t.c.status == "running").values(status="interrupted", finished_at=utcnow(), error=error)
        )
    return ids


def interrupt_running(conn: Connection, error: str) -> list[int]:
    """Mark every run still "running" interrupted, saying why; returns their ids.

    For a store put back from a backup: the runs it shows running were going when the copy
    was taken, and no process carries them on.
    """
    return _interrupt(conn, [r.id for r in _running(conn)], error)


def close_lapsed(engine: Engine, lease_seconds: float) -> list[int]:
    """Runs left "running" by a process that was killed, marked interrupted; returns their ids.

    A worker's run (claimed from the queue) is not among them: ``requeue_lost`` queues it again.
    """
    cutoff = utcnow() - timedelta(seconds=lease_seconds)
    with engine.begin() as conn:
        return _interrupt(conn, [r.id for r in _running(conn, _t.c.attempts == 0) if _holds(r, cutoff) is False])


def running_run(engine: Engine, connection: str, lease_seconds: float) -> dict[str, Any] | None:
    """The run that holds ``connection`` now, if any (a look only: nothing is marked)."""
    with engine.connect() as conn:
        return _judge(conn, connection, lease_seconds)[0]


def claim_run(store: Store, run_id: int, worker: str, lease_seconds: float) -> str | None:
    """Take a queued run for ``worker``: its connection, or None.

    None when the run is not queued any more (another worker took it), or when another run of
    the same connection holds it: one connection never runs twice at once. The look and the
    claim share the write lock ``start_run`` takes, so a worker and a ``hub run`` asking at
    once cannot both go.
    """
    with store.engine.connect() as conn:
        connection = conn.execute(select(_t.c.connection).where(_t.c.id == run_id, _t.c.status == "queued")).scalar()
    if connection is None:
        return None
    with store.writing(f"runs:{connection}") as conn:
        if _free_or_holder(conn, connection, lease_seconds) is not None:
            return None
        # Stamped once the lock is held: a claim that waited for the run it follows to finish
        # starts after that run's finish, not when it began to wait.
        now = utcnow()
        res = conn.execute(
            update(_t)
            .where(_t.c.id == run_id, _t.c.status == "queued")
            .values(
                status="running",
                worker=worker,
                heartbeat_at=now,
                started_at=func.coalesce(_t.c.started_at, now),
                attempts=_t.c.attempts + 1,
            )
        )
        return connection if res.rowcount == 1 else None


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
    """Runs whose worker stopped renewing its lease, put back in the queue; returns their ids.

    Only runs a worker claimed from the queue (``attempts`` counts the claims): a ``hub run``
    or an in-process scheduled run that was killed has no queue message to go back to, and
    ``close_lapsed`` marks it interrupted instead.
    """
    cutoff = utcnow() - timedelta(seconds=lease_seconds)
    with engine.begin() as conn:
        ids = list(
            conn.execute(
                select(_t.c.id).where(
                    _t.c.status == "running", _t.c.attempts > 0, _t.c.heartbeat_at.is_not(None), _t.c.heartbeat_at < cutoff
                )
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
        "heartbeat_at": r.heartbeat_at.isoformat() if r.heartbeat_at else None,
        "attempts": r.attempts,
    }
    d.update({c: getattr(r, c) for c in COUNTS})
    if r.started_at and r.finished_at and r.status != "skipped":  # skipped slots span their first to their last
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
    engine: Engine,
    *,
    connection: str | None = None,
    status: str | None = None,
    limit: int = 20,
    connections: list[str] | None = None,
    before: int | None = None,
) -> list[dict[str, Any]]:
    """Newest runs first, optionally filtered (``connections``: only runs of these; ``before``: older than that id)."""
    q = select(_t).order_by(_t.c.id.desc()).limit(limit)
    if before is not None:
        q = q.where(_t.c.id < before)
    if connection:
        q = q.where(_t.c.connection == connection)
    if connections is not None:
        q = q.where(_t.c.connection.in_(connections))
    if status:
        q = q.where(_t.c.status == status)
    with engine.connect() as conn:
        return [_as_dict(r) for r in conn.execute(q)]


def last_ran(engine: Engine, connection: str) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """The newest run of ``connection`` that ran (not a skipped slot), and the skipped slots after it, if any.

    "Last run" in ``hub status`` and the web admin means the last one that read its source;
    the slots skipped since (one row, see ``skip_slot``) are said beside it.
    """
    with engine.connect() as conn:
        ran = conn.execute(
            select(_t).where(_t.c.connection == connection, _t.c.status != "skipped").order_by(_t.c.id.desc()).limit(1)
        ).first()
        q = select(_t).where(_t.c.connection == connection, _t.c.status == "skipped").order_by(_t.c.id.desc()).limit(1)
        skipped = conn.execute(q if ran is None else q.where(_t.c.id > ran.id)).first()
    return (_as_dict(ran) if ran else None), (_as_dict(skipped) if skipped else None)


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
