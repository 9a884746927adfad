"""The hub's own jobs, scheduled like connections: reconcile, drain the outbox, retention, backup.

``jobs:`` in the config gives each a schedule. A job's firing is a run like a sync's (its
name ``job:reconcile`` in the runs table, unique per slot), so ``hub runs``, ``hub status``,
the notifiers and the slot-once rule across several schedulers all apply unchanged.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from hub.app import Hub
from hub.errors import ConfigError
from hub.pipeline.lease import RunLease
from hub.pipeline.run import DEFERRED, begin_run, drain_destinations, end_run, fail_run
from hub.processes import holder_id
from hub.store import runs as run_store

__all__ = ["JOBS", "destinations", "run_job"]

JOBS = ("reconcile", "drain", "retention", "backup")


def destinations(hub: Hub) -> list[str]:
    """Connections that receive records: named in some ``destinations``, or destinations without streams."""
    named = {d for c in hub.config.connections.values() for d in c.destinations}
    for name, c in hub.config.connections.items():
        if not c.streams and name not in named:
            try:
                if hub.connector_class(name).is_destination():
                    named.add(name)
            except ConfigError:
                continue
    return sorted(named)


def _reconcile(hub: Hub, run_id: int) -> tuple[dict, list[str]]:
    from hub.reconcile.service import reconcile_store

    decisions = reconcile_store(hub, actor="schedule")
    counts = {s: sum(d.status == s for d in decisions) for s in ("matched", "suggested", "unmatched", "ignored")}
    return {"read": len(decisions), "valid": counts["matched"]}, [", ".join(f"{n} {s}" for s, n in counts.items())]


def _drain(hub: Hub, run_id: int) -> tuple[dict, list[str]]:
    d = drain_destinations(hub, destinations(hub), run_id)
    if d["quarantined"]:
        hub.plugins.hook.hub_records_quarantined(run={"id": run_id, "connection": "job:drain"}, entries=d["quarantined"])
    return {"delivered": d["delivered"], "delivery_failed": d["delivery_failed"]}, [*d["notes"], *(f"{DEFERRED} {e}" for e in d["errors"])]


def _retention(hub: Hub, run_id: int) -> tuple[dict, list[str]]:
    from hub.services.retention import purge

    deleted = purge(hub, (hub.config.jobs.get("retention") or {}).get("keep_days"), actor="schedule")
    return {}, ["deleted " + ", ".join(f"{n} {what}" for what, n in deleted.items())]


def _backup(hub: Hub, run_id: int) -> tuple[dict, list[str]]:
    from hub.store.backup import backup_into

    settings = hub.config.jobs.get("backup") or {}
    taken, removed = backup_into(
        hub.config.store_url, hub.config.base_dir / settings.get("folder", "backups"), keep=int(settings.get("keep", 7))
    )
    flags = [f"backed up to {taken.path} ({taken.bytes:,} bytes), audit head {taken.audit_head}"]
    if removed:
        flags.append("removed " + ", ".join(p.name for p in removed))
    return {}, flags


_RUNNERS = {"reconcile": _reconcile, "drain": _drain, "retention": _retention, "backup": _backup}


def run_job(hub: Hub, name: str, *, trigger: str = "manual", scheduled_for: datetime | None = None) -> dict[str, Any]:
    """Run job ``name`` as a recorded run; returns the finished run (HubError after recording a failure)."""
    if name not in _RUNNERS:
        raise ConfigError(f"unknown job {name!r}", hint=f"jobs: {', '.join(JOBS)}")
    info = begin_run(hub, f"job:{name}", trigger=trigger, scheduled_for=scheduled_for)
    try:
        with RunLease(hub.store.engine, info["id"], holder_id(), hub.config.lease_seconds):
            counts, flags = _RUNNERS[name](hub, info["id"])
    except Exception as exc:
        fail_run(hub, info, exc)
        raise
    except BaseException:
        run_store.finish_run(hub.store.engine, info["id"], status="interrupted", error="stopped by hand")
        raise
    if counts:
        with hub.store.engine.begin() as conn:
            run_store.add_counts(conn, info["id"], counts)
    deferred = any(f.startswith(DEFERRED) for f in flags)
    return end_run(hub, info, status="partial" if deferred or counts.get("delivery_failed") else "succeeded", flags=flags)
