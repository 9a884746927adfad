"""Stream state services: show, set and rewind cursors, each change written to the audit log."""

from __future__ import annotations

from typing import Any

from hub.app import Hub
from hub.connector_faults import streams_of
from hub.cursors import check_cursor
from hub.errors import HubError
from hub.store import audit
from hub.store import state as state_store
from hub.store.types import utcnow

__all__ = ["rewind", "set_cursor", "show"]


def show(hub: Hub, connection: str) -> list[dict[str, Any]]:
    """Every stream's saved cursor for a connection (a configured stream never run shows None)."""
    cfg = hub.config.connection(connection)
    with hub.store.engine.connect() as conn:
        saved = {s["stream"]: s for s in state_store.all_states(conn, connection)}
    names = [s.name for s in cfg.streams] + [n for n in saved if n not in {s.name for s in cfg.streams}]
    return [saved.get(n, {"connection": connection, "stream": n, "cursor": None, "run_id": None, "updated_at": None}) for n in names]


def _stream_name(hub: Hub, connection: str, stream: str | None) -> str:
    cfg = hub.config.connection(connection)
    names = [s.name for s in cfg.streams]
    if stream is None:
        if len(names) != 1:
            raise HubError(f"connection {connection!r} has streams {', '.join(names) or '(none)'}: name one with --stream")
        return names[0]
    if stream not in names:
        raise HubError(f"connection {connection!r} has no stream {stream!r}", hint=f"streams: {', '.join(names)}")
    return stream


def _check_against_stream(hub: Hub, connection: str, name: str, value: Any) -> None:
    try:
        connector = hub.open_connector(connection)
    except HubError:
        return
    try:
        for candidate in streams_of(connector):
            if candidate.name == name:
                check_cursor(connection, candidate, value, saved=False)
    finally:
        connector.close()


def set_cursor(hub: Hub, connection: str, value: Any, *, stream: str | None = None, actor: str = "cli") -> dict[str, Any]:
    """Set a stream's cursor to ``value`` (JSON); the old value is kept in the audit entry.

    A value that does not fit the stream's declared ``cursor_schema`` is refused here, not at
    the next run. (A connection that cannot be opened now, say for a secret missing from this
    shell's environment, is not checked: its next run checks the value.)
    """
    name = _stream_name(hub, connection, stream)
    _check_against_stream(hub, connection, name, value)
    now = utcnow()
    with hub.store.engine.begin() as conn:
        old = state_store.load_cursor(conn, connection, name)
        state_store.save_cursor(conn, connection, name, value, run_id=None, now=now)
        audit.append(
            conn,
            actor=actor,
            action="state.set",
            subject=f"state/{connection}/{name}",
            detail={"old": old, "new": value},
            now=now,
        )
    return {"connection": connection, "stream": name, "old": old, "cursor": value}


def rewind(hub: Hub, connection: str, *, stream: str | None = None, actor: str = "cli") -> list[dict[str, Any]]:
    """Forget cursors so the next run reads from the start (unchanged records stay no-ops)."""
    cfg = hub.config.connection(connection)
    names = [_stream_name(hub, connection, stream)] if stream else [s.name for s in cfg.streams]
    out = []
    now = utcnow()
    with hub.store.engine.begin() as conn:
        for n in names:
            old = state_store.load_cursor(conn, connection, n)
            state_store.clear_state(conn, connection, n)
            audit.append(
                conn,
                actor=actor,
                action="state.rewind",
                subject=f"state/{connection}/{n}",
                detail={"old": old},
                now=now,
            )
            out.append({"connection": connection, "stream": n, "old": old})
    return out
