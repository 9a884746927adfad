"""Schedules an admin set in the web admin: stored, audited, and winning over the config's.

They live in the store (not in hub.yaml) so that every ``hub serve`` on a shared store sees
the same schedule, and a reload picks them up; the config stays the baseline a deploy sets.
"""

from __future__ import annotations

import orjson
from sqlalchemy import delete, insert, select

from hub.app import Hub
from hub.scheduling.commands import issue
from hub.scheduling.triggers import parse_schedule
from hub.store import audit
from hub.store.models import schedule_overrides_table
from hub.store.types import utcnow

__all__ = ["overrides", "set_schedule"]

_t = schedule_overrides_table


def overrides(hub: Hub) -> dict[str, dict]:
    """Connection -> the schedule an admin set (an empty store has none)."""
    with hub.store.engine.connect() as conn:
        return {c: orjson.loads(spec) for c, spec in conn.execute(select(_t.c.connection, _t.c.spec))}


def set_schedule(hub: Hub, connection: str, spec: dict | None, *, actor: str) -> None:
    """Set (or with None, drop) ``connection``'s schedule; ConfigError if it is not a valid schedule.

    The running schedulers are told to reload.
    """
    hub.config.connection(connection)
    if spec is not None:
        parse_schedule(connection, spec, hub.config.timezone)
    now = utcnow()
    with hub.store.engine.begin() as conn:
        conn.execute(delete(_t).where(_t.c.connection == connection))
        if spec is not None:
            conn.execute(insert(_t).values(connection=connection, spec=orjson.dumps(spec).decode(), actor=actor, updated_at=now))
        audit.append(conn, actor=actor, action="schedule.set", subject=f"schedule/{connection}", detail={"schedule": spec}, now=now)
    issue(hub, connection, "reload", actor=actor)
