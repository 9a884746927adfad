"""Store epochs: which history a store holds, and which one each destination held when it last answered.

A hub tells those that push to it (``GET /api/v1/token``) the epoch of its store: a random
name given the first time it is asked for, and given anew by ``hub restore``, which winds
the store back to a backup. A pushing hub keeps the epoch each destination answered with;
a different one means the records it was told were stored may be gone, and it sends them
again (hub.pipeline.destination_stores). On PostgreSQL the epoch also names the database's
own number, so a store brought back with pg_restore into a new database is told apart too.
"""

from __future__ import annotations

import secrets

from sqlalchemy import Connection, select, text

from hub.store.db import insert_or_keep, put_row
from hub.store.models import destination_stores_table, store_epoch_table
from hub.store.types import utcnow

__all__ = ["current", "last_seen", "remember", "renew"]

_epoch, _seen = store_epoch_table, destination_stores_table


def _new() -> str:
    return secrets.token_hex(8)


def current(conn: Connection) -> str:
    """This store's epoch, written now if it has none yet (the first hub to ask names it)."""
    name = conn.execute(select(_epoch.c.epoch).where(_epoch.c.id == 1)).scalar()
    if name is None:
        conn.execute(insert_or_keep(conn, _epoch).values(id=1, epoch=_new(), begun_at=utcnow()))
        name = conn.execute(select(_epoch.c.epoch).where(_epoch.c.id == 1)).scalar_one()
    if conn.dialect.name == "postgresql":
        oid = conn.execute(text("SELECT oid FROM pg_database WHERE datname = current_database()")).scalar_one()
        name = f"{name}-{oid}"
    return name


def renew(conn: Connection) -> str:
    """Give this store a new epoch (its history was wound back): returns it."""
    name = _new()
    put_row(conn, _epoch, {"id": 1}, {"epoch": name, "begun_at": utcnow()})
    return name


def last_seen(conn: Connection, destination: str) -> str | None:
    """The epoch ``destination`` answered with last, if it ever did."""
    return conn.execute(select(_seen.c.epoch).where(_seen.c.destination == destination)).scalar()


def remember(conn: Connection, destination: str, epoch: str) -> None:
    """Keep ``epoch`` as the one ``destination`` answered with last."""
    put_row(conn, _seen, {"destination": destination}, {"epoch": epoch, "seen_at": utcnow()})
