"""A destination added to a connection is given the records the connection stored before.

The outbox is filled in each batch's transaction with the versions that batch stored, so a
destination receives what its connection stores once it is listed in ``destinations``. An
association that has synced its donations for months and then adds the national platform
would have had only what changed from then on delivered there, and its history never. So
once a run has read its streams, every destination of its connection that has never been
given this connection's records gets every record the connection holds now
(``deliveries_begun`` remembers that it was done); the run's own drain sends them, oldest
first, like any change. The versions the streams stored are queued already, so a record
changed in this run is sent once, as it is now.

``hub resend CONNECTION --to DESTINATION`` does it again on purpose, for a destination that
lost what it was given (the platform restored from a backup, an export file deleted): what
was delivered is queued again, and what was never queued is added.
"""

from __future__ import annotations

import logging

from sqlalchemy import Integer, String, cast, func, literal, or_, select, update

from hub.app import Hub
from hub.config import ConnectionConfig
from hub.errors import ConfigError
from hub.store import audit
from hub.store.db import insert_or_keep
from hub.store.models import deliveries_begun_table, outbox_table, records_table
from hub.store.types import utcnow

__all__ = ["check_destination", "queue_for_new_destinations", "resend"]

log = logging.getLogger(__name__)

_begun, _outbox, _records = deliveries_begun_table, outbox_table, records_table


def queue_for_new_destinations(hub: Hub, cfg: ConnectionConfig, run_id: int) -> list[str]:
    """Queue what ``cfg``'s connection has stored for each of its destinations not yet begun; a sentence for each."""
    if not cfg.destinations:
        return []
    with hub.store.engine.connect() as conn:
        begun = set(conn.execute(select(_begun.c.destination).where(_begun.c.connection == cfg.name)).scalars())
    said = []
    for destination in [d for d in cfg.destinations if d not in begun]:
        with hub.store.writing(f"outbox:{destination}") as conn:
            queued = _queue_stored(conn, _current(hub, cfg.name, destination), destination, run_id)
            conn.execute(
                insert_or_keep(conn, _begun).values(connection=cfg.name, destination=destination, begun_at=utcnow(), queued=queued)
            )
        if queued:
            said.append(f"{destination}: {queued} record(s) stored before it was a destination of {cfg.name} are queued for it")
            log.info("%s", said[-1])
    return said


def check_destination(hub: Hub, connection: str, destination: str) -> None:
    """ConfigError unless ``destination`` is a configured destination of ``connection``."""
    cfg = hub.config.connection(connection)
    hub.config.connection(destination)
    if destination not in cfg.destinations:
        listed = ", ".join(cfg.destinations) or "none"
        raise ConfigError(f"{destination!r} is not a destination of {connection!r} (its destinations: {listed})")


_IDS_AT_ONCE = 5000  # record ids in one IN list: well under SQLite's and PostgreSQL's limits on parameters


def resend(
    hub: Hub, connection: str, destination: str, *, ids: list[int] | None = None, why: dict | None = None, actor: str = "cli"
) -> dict[str, int]:
    """Queue the records ``connection`` holds for ``destination`` again: ``{"again": delivered before, "added": never queued}``.

    Every record, or only those of ``ids`` (rows of the records table: what ``hub compare``
    found the destination lacks). ``why`` goes into the audit entry.
    """
    check_destination(hub, connection, destination)
    now = utcnow()
    chunks = [None] if ids is None else [ids[i : i + _IDS_AT_ONCE] for i in range(0, len(ids), _IDS_AT_ONCE)]
    again = added = 0
    with hub.store.writing(f"outbox:{destination}") as conn:
        for chunk in chunks:
            current = _current(hub, connection, destination)
            if chunk is not None:
                current = current.where(_records.c.id.in_(chunk))
            # Delivered rows only: a refused one waits in quarantine, where a person sends it again.
            again += conn.execute(
                update(_outbox)
                .where(
                    _outbox.c.destination == destination,
                    _outbox.c.status == "delivered",
                    _outbox.c.idempotency_key.in_(current.with_only_columns(_idempotency_key())),
                )
                .values(status="pending", attempts=0, last_error=None, next_attempt_at=None, delivered_at=None)
                .execution_options(preserve_rowcount=True)
            ).rowcount
            added += _queue_stored(conn, current, destination, None)
        conn.execute(insert_or_keep(conn, _begun).values(connection=connection, destination=destination, begun_at=now, queued=added))
        detail = {"destination": destination, "again": again, "added": added, **(why or {})}
        audit.append(conn, actor=actor, action="outbox.resend", subject=f"connection/{connection}", detail=detail, now=now)
    return {"again": again, "added": added}


def _idempotency_key():
    """The idempotency key outbox.enqueue gives a record's current version, in SQL."""
    return _records.c.entity + ":" + _records.c.key + ":v" + cast(_records.c.version, String) + ":" + func.substr(_records.c.hash, 1, 16)


def _current(hub: Hub, connection: str, destination: str):
    """The records ``connection`` holds, of the entities ``destination`` takes (columns to be chosen)."""
    rows = select(_records.c.id).where(_records.c.connection == connection)
    entities = hub.config.connection(destination).entities
    if entities is not None:
        rows = rows.where(_records.c.entity.in_(entities))
    return rows


def _queue_stored(conn, current, destination: str, run_id: int | None) -> int:
    """The records ``current`` selects (``_current``, narrowed or not) into ``destination``'s outbox; how many.

    ``run_id``: the run doing it; what it stored itself was queued by its batches already.
    """
    rows = current.with_only_columns(
        literal(destination, String),
        _records.c.entity,
        _records.c.key,
        _records.c.version,
        _idempotency_key(),  # a version the outbox holds already is then skipped by its unique key
        _records.c.data,
        literal("pending", String),
        literal(0),
        literal(run_id, Integer),
        literal(utcnow(), _outbox.c.created_at.type),
    )
    if run_id is not None:  # a first run of a connection adds nothing
        rows = rows.where(or_(_records.c.run_id.is_(None), _records.c.run_id != run_id))
    columns = ["destination", "entity", "key", "version", "idempotency_key", "payload", "status", "attempts", "run_id", "created_at"]
    # A version the outbox holds for it already (a reconciliation queued it meanwhile) stays as it is.
    insert = insert_or_keep(conn, _outbox).from_select(columns, rows.order_by(_records.c.id))
    # preserve_rowcount: SQLAlchemy answers -1 on PostgreSQL for an INSERT ... SELECT otherwise.
    return conn.execute(insert.execution_options(preserve_rowcount=True)).rowcount
