"""Per connection and hub job: its schedule, what runs now, what ran last, what failed, what waits to be sent.

``hub status`` prints it for everything; the API's ``GET /api/v1/connections`` answers it for
what a token may see. Both read the same rows, so a script and a person see one state.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from hub.app import Hub
from hub.store import outbox
from hub.store import runs as run_store

__all__ = ["connection_status"]


def connection_status(hub: Hub, names: list[str]) -> list[dict[str, Any]]:
    """One row per name (a connection, or ``job:NAME``), in the order given."""
    from hub.scheduling.commands import paused_connections
    from hub.scheduling.server import schedules_of

    paused = paused_connections(hub)
    schedules = {s.connection: s for s in schedules_of(hub)}
    now = datetime.now().astimezone()
    with hub.store.engine.connect() as conn:
        waiting = outbox.waiting(conn, names)
    rows = []
    for name in names:
        sched = schedules.get(name)
        off = bool(sched and (sched.paused or name in paused))
        nxt = sched.next_slot(now) if sched and not off else None
        recent = run_store.list_runs(hub.store.engine, connection=name, limit=20)
        running = [r for r in recent if r["status"] == "running"]
        last, skipped = run_store.last_ran(hub.store.engine, name)
        rows.append(
            {
                "connection": name,
                "schedule": sched.description if sched else None,
                "paused": off,
                "next": nxt.isoformat() if nxt else None,
                "running": [r["id"] for r in running],
                "running_since": [r["started_at"] for r in running],
                "last_run": last,
                "skipped": skipped,
                "last_failure": next((r for r in recent if r["status"] == "failed"), None),
                "waiting": waiting[name].as_dict() if name in waiting else None,
            }
        )
    return rows
