"""A destination added to a connection is given the records the connection stored before.

The outbox is filled in each batch's transaction with the versions that batch stored, so a
destination receives what its connection stores once it is listed in ``destinations``. An
association that has synced its donations for months and then adds the national platform
would have had only what changed from then on delivered there, and its history never. So
once a run has read, every destination of its connection that has never been given this
connection's records gets every record the connection holds now (``deliveries_begun``
remembers that it was done); the run's own drain sends them, oldest first, like any change.
It is done once the run's streams are read: the versions they stored are queued already,
and a record changed in this run is sent once, as it is now.
"""

from __future__ import annotations

import logging

from sqlalchemy import String, cast, func, literal, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from hub.app import Hub
from hub.config import ConnectionConfig
from hub.store.models import deliveries_begun_table, outbox_table, records_table
from hub.store.types import utcnow

__all__ = ["queue_for_new_destinations"]

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
            queued = _queue_stored(conn, hub, cfg.name, destination, run_id)
            conn.execute(_insert(conn).values(connection=cfg.name, destination=destination, begun_at=utcnow(), queued=queued))
        if queued:
            said.append(f"{destination}: {queued} record(s) stored before it was a destination of {cfg.name} are queued for it")
            log.info("%s", said[-1])
    return said


def _insert(conn):
    """An INSERT that leaves a row already there (another process did the same) as it is."""
    make = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    return make(_begun).on_conflict_do_nothing()


def _queue_stored(conn, hub: Hub, connection: str, destination: str, run_id: int) -> int:
    """Every record ``connection`` holds, of the entities ``destination`` takes, into the outbox; how many."""
    # The idempotency key outbox.enqueue gives the same version: the unique key then skips it.
    key = _records.c.entity + ":" + _records.c.key + ":v" + cast(_records.c.version, String) + ":" + func.substr(_records.c.hash, 1, 16)
    rows = select(
        literal(destination, String),
        _records.c.entity,
        _records.c.key,
        _records.c.version,
        key,
        _records.c.data,
        literal("pending", String),
        literal(0),
        literal(run_id),
        literal(utcnow(), _outbox.c.created_at.type),
    ).where(
        _records.c.connection == connection,
        # What this run stored was queued by its batches: a first run of a connection adds nothing.
        or_(_records.c.run_id.is_(None), _records.c.run_id != run_id),
    )
    entities = hub.config.connection(destination).entities
    if entities is not None:
        rows = rows.where(_records.c.entity.in_(entities))
    columns = ["destination", "entity", "key", "version", "idempotency_key", "payload", "status", "attempts", "run_id", "created_at"]
    make = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    # A version the outbox holds for it already (a reconciliation queued it meanwhile) stays as it is.
    insert = make(_outbox).from_select(columns, rows.order_by(_records.c.id)).on_conflict_do_nothing()
    # preserve_rowcount: SQLAlchemy answers -1 on PostgreSQL for an INSERT ... SELECT otherwise.
    return conn.execute(insert.execution_options(preserve_rowcount=True)).rowcount
