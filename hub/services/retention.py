"""Retention: purge the bookkeeping that only grows, keep everything that is evidence.

Finished runs, delivered or rejected outbox rows, stored answers to idempotent API requests
(their replay window) and decided quarantine entries are deleted once older than the days
configured under ``jobs.retention.keep_days``. Superseded record versions are kept unless a
number of days is given for them. Records, open quarantine entries, pending deliveries,
reconciliation decisions and the audit log are never purged; every purge is audited. The
newest run and quarantine entry stay, whatever their age, so their numbers are never given again.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, func, select

from hub.app import Hub
from hub.store import audit
from hub.store.models import api_requests_table, outbox_table, quarantine_table, record_history_table, runs_table
from hub.store.types import utcnow

__all__ = ["DEFAULT_KEEP_DAYS", "purge"]

DEFAULT_KEEP_DAYS = {"runs": 365, "outbox": 30, "api_requests": 30, "quarantine": 365}


def _not_newest(table):
    """Not the table's newest row, which keeps its number from being given again.

    SQLite gives the next row max(id) + 1, so an emptied table would number its rows from 1
    again, and run 1 or quarantine entry 1 (named by records, by the audit log, in a ticket)
    would come to mean another one.
    """
    return table.c.id < select(func.max(table.c.id)).scalar_subquery()


def purge(hub: Hub, keep_days: dict[str, int] | None = None, *, actor: str = "retention") -> dict[str, int]:
    """Delete what is older than its keep period; returns rows deleted per table."""
    keep = {**DEFAULT_KEEP_DAYS, **(keep_days or {})}
    now = utcnow()

    def before(what: str):
        return now - timedelta(days=keep[what])

    runs, outbox, requests, quarantine, history = (
        runs_table,
        outbox_table,
        api_requests_table,
        quarantine_table,
        record_history_table,
    )
    statements = {
        "runs": delete(runs).where(
            runs.c.finished_at.is_not(None), runs.c.finished_at < before("runs"), runs.c.status != "running", _not_newest(runs)
        ),
        "outbox": delete(outbox).where(outbox.c.status.in_(("delivered", "rejected")), outbox.c.created_at < before("outbox")),
        "api_requests": delete(requests).where(requests.c.created_at < before("api_requests")),
        "quarantine": delete(quarantine).where(
            quarantine.c.status != "open", quarantine.c.resolved_at < before("quarantine"), _not_newest(quarantine)
        ),
    }
    if "record_history" in keep:
        statements["record_history"] = delete(history).where(history.c.replaced_at < before("record_history"))
    deleted = {}
    with hub.store.engine.begin() as conn:
        for what, stmt in statements.items():
            deleted[what] = conn.execute(stmt).rowcount or 0
        audit.append(conn, actor=actor, action="retention.purge", subject="store", detail={"keep_days": keep, "deleted": deleted}, now=now)
    return deleted
