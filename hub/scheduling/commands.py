"""Admin commands to running schedulers, through the store (every ``hub serve`` sees them).

The store is the one thing every scheduler of a hub shares (SQLite on one machine, PostgreSQL
across several), so pause, resume and trigger are rows there: no second channel to secure.
"""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from sqlalchemy import insert, select

from hub.app import Hub
from hub.errors import ConfigError, HubError
from hub.store import audit
from hub.store.models import schedule_commands_table
from hub.store.types import utcnow

__all__ = ["COMMANDS", "Issued", "issue", "new_commands", "paused_connections"]

COMMANDS = ("pause", "resume", "trigger", "reload")
ALL = "*"  # what a reload names: every schedule
_t = schedule_commands_table


def _scheduled(hub: Hub, name: str) -> bool:
    """Whether ``name`` (a connection, or ``job:NAME``) exists and has a schedule; ConfigError if it does not exist."""
    if name.startswith("job:"):
        if name.removeprefix("job:") not in hub.config.jobs:
            known = ", ".join(f"job:{j}" for j in hub.config.jobs) or "none"
            raise ConfigError(f"no job named {name!r} in {hub.config.path}", hint=f"configured jobs: {known}")
        return True
    from hub.scheduling.overrides import overrides

    return bool(hub.config.connection(name).schedule) or name in overrides(hub)


class Issued(NamedTuple):
    """A command as recorded: its id, and when it was issued (a trigger's run has that slot)."""

    id: int
    at: datetime


def issue(hub: Hub, connection: str, command: str, *, actor: str = "cli") -> Issued:
    """Record ``command`` for ``connection`` (``*`` for reload); the schedulers act on it within a few seconds."""
    if command not in COMMANDS:
        raise HubError(f"unknown schedule command {command!r}")
    if command == "reload":
        connection = ALL
    elif not _scheduled(hub, connection) and command != "trigger":
        raise HubError(f"connection {connection!r} has no schedule to {command}", hint="add schedule: to it in the config")
    now = utcnow()
    with hub.store.engine.begin() as conn:
        cid = conn.execute(insert(_t).values(connection=connection, command=command, actor=actor, created_at=now)).inserted_primary_key[0]
        audit.append(conn, actor=actor, action=f"schedule.{command}", subject=f"schedule/{connection}", detail={}, now=now)
    return Issued(cid, now)


def new_commands(hub: Hub, after_id: int) -> list[tuple[int, str, str, datetime]]:
    """Commands issued after ``after_id``: (id, connection, command, when it was issued), oldest first.

    When a trigger was issued is the slot of the run it asks for: every scheduler that reads
    the command names the same slot, and the store's unique slot lets one of them run it.
    """
    q = select(_t.c.id, _t.c.connection, _t.c.command, _t.c.created_at).where(_t.c.id > after_id).order_by(_t.c.id)
    with hub.store.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(q)]


def last_id(hub: Hub, *, issued_before: datetime | None = None) -> int:
    """The newest command's id, or the newest issued before ``issued_before`` (0 when there is none)."""
    q = select(_t.c.id).order_by(_t.c.id.desc()).limit(1)
    if issued_before is not None:
        q = q.where(_t.c.created_at < issued_before)
    with hub.store.engine.connect() as conn:
        return conn.execute(q).scalar() or 0


def paused_connections(hub: Hub) -> set[str]:
    """Connections whose latest pause/resume command is a pause."""
    latest: dict[str, str] = {}
    with hub.store.engine.connect() as conn:
        for connection, command in conn.execute(
            select(_t.c.connection, _t.c.command).where(_t.c.command.in_(("pause", "resume"))).order_by(_t.c.id)
        ):
            latest[connection] = command
    return {c for c, cmd in latest.items() if cmd == "pause"}
