"""What the web admin shows, within what a user may see: the same store reads as the CLI's.

A user of an association sees the connections configured with ``association:`` equal to
theirs, the runs and quarantine entries of those connections, the reconciliation decisions
touching their donations, and records whose ``association_id`` is theirs. Platform staff see
everything, hub jobs included. Every lookup by id goes through the same scope, so an id typed
by hand into a URL finds nothing that is not the user's.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import func, select

from hub.app import Hub
from hub.errors import NotFoundError
from hub.services.browse import DATE_FIELD, GOVERNORATE_FIELDS, Filters, where_clauses
from hub.services.tokens import Principal
from hub.services.users import User
from hub.store import outbox
from hub.store import quarantine as q_store
from hub.store import runs as run_store
from hub.store.models import matches_table, quarantine_table, records_table, runs_table
from hub.store.types import utcnow

__all__ = [
    "connection_rows",
    "daily_activity",
    "decisions",
    "governorate_summary",
    "match_for",
    "quarantine_entry",
    "quarantine_list",
    "request_run",
    "run_for",
    "runs_list",
    "suggestions",
    "visible_connections",
]

_runs, _records, _q, _m = runs_table, records_table, quarantine_table, matches_table
# Who looks: a person signed in to the web admin, or an API token watching runs (hub.api.watch).
# Both see by the same rule: their association's connections, or everything for the platform.
Viewer = User | Principal


def visible_connections(hub: Hub, user: Viewer) -> list[str]:
    """Connections (and, for platform staff, hub jobs) this user may see."""
    names = [n for n, c in hub.config.connections.items() if user.may_see(c.association)]
    if user.is_platform:
        names += [f"job:{j}" for j in hub.config.jobs]
    return names


def request_run(hub: Hub, user: Viewer, name: str) -> datetime | None:
    """Ask ``hub serve`` to run ``name`` now: the slot of the run to come; None, asking nothing, when it is running already."""
    check_connection(hub, user, name)
    if run_store.running_run(hub.store.engine, name, hub.config.lease_seconds) is not None:
        return None
    from hub.scheduling.commands import issue

    return issue(hub, name, "trigger", actor=user.actor).at


def check_connection(hub: Hub, user: Viewer, name: str) -> None:
    """NotFoundError unless ``name`` is a connection this user may see."""
    if name not in hub.config.connections or name not in visible_connections(hub, user):
        raise NotFoundError(f"no connection {name!r}")


def _next_runs(hub: Hub) -> dict[str, tuple[str, datetime | None, bool]]:
    from hub.scheduling.commands import paused_connections
    from hub.scheduling.server import schedules_of

    paused = paused_connections(hub)
    now = datetime.now().astimezone()
    out = {}
    for s in schedules_of(hub):
        off = s.paused or s.connection in paused
        out[s.connection] = (s.description, None if off else s.next_slot(now), off)
    return out


def connection_rows(hub: Hub, user: User) -> list[dict[str, Any]]:
    """Per visible connection: last run, next run, records, open quarantine, open suggestions, what waits to be sent."""
    names = [n for n in visible_connections(hub, user) if not n.startswith("job:")]
    schedules = _next_runs(hub)
    with hub.store.engine.connect() as conn:
        records = dict(
            conn.execute(
                select(_records.c.connection, func.count()).where(_records.c.connection.in_(names)).group_by(_records.c.connection)
            ).all()
        )
        open_q = dict(
            conn.execute(
                select(_q.c.connection, func.count()).where(_q.c.status == "open", _q.c.connection.in_(names)).group_by(_q.c.connection)
            ).all()
        )
        txn_conn = dict(
            conn.execute(
                select(_records.c.key, _records.c.connection).where(
                    _records.c.entity == "bank_transaction", _records.c.connection.in_(names)
                )
            ).all()
        )
        waiting = outbox.waiting(conn, names)
        open_s: dict[str, int] = defaultdict(int)
        for (key,) in conn.execute(select(_m.c.transaction_key).where(_m.c.status == "suggested")):
            if key in txn_conn:
                open_s[txn_conn[key]] += 1
    rows = []
    for n in names:
        last, skipped = run_store.last_ran(hub.store.engine, n)
        when, nxt, paused = schedules.get(n, (None, None, False))
        cfg = hub.config.connections[n]
        rows.append(
            {
                "name": n,
                "connector": cfg.connector,
                "description": cfg.description,
                "association": cfg.association,
                "last_run": last,
                "skipped": skipped,
                "schedule": when,
                "cron": (cfg.schedule or {}).get("cron"),
                "next_run": nxt.isoformat() if nxt else None,
                "paused": paused,
                "records": records.get(n, 0),
                "open_quarantine": open_q.get(n, 0),
                "open_suggestions": open_s.get(n, 0),
                "waiting": waiting.get(n),
            }
        )
    return rows


def daily_activity(hub: Hub, user: User, days: int = 30) -> list[dict[str, Any]]:
    """Per day of the last ``days``: records stored and failures (quarantined records and failed runs)."""
    names = visible_connections(hub, user)
    since = utcnow() - timedelta(days=days)
    by_day: dict[str, dict[str, int]] = {}
    for i in range(days, -1, -1):
        by_day[(utcnow() - timedelta(days=i)).date().isoformat()] = {"stored": 0, "failures": 0}
    with hub.store.engine.connect() as conn:
        rows = conn.execute(
            select(_runs.c.started_at, _runs.c.inserted, _runs.c.updated, _runs.c.quarantined, _runs.c.status).where(
                _runs.c.started_at >= since, _runs.c.connection.in_(names)
            )
        ).all()
    for started, inserted, updated, quarantined, status in rows:
        day = started.date().isoformat()
        if day in by_day:
            by_day[day]["stored"] += (inserted or 0) + (updated or 0)
            by_day[day]["failures"] += (quarantined or 0) + (1 if status == "failed" else 0)
    return [{"day": d, **v} for d, v in by_day.items()]


def runs_list(
    hub: Hub, user: Viewer, *, connection: str | None = None, status: str | None = None, limit: int = 100, before: int | None = None
) -> list[dict]:
    """Newest runs of what the user may see (``before``: only runs older than that run id, for the next page)."""
    names = visible_connections(hub, user)
    if connection and connection not in names:
        return []
    return run_store.list_runs(
        hub.store.engine, connection=connection or None, status=status or None, limit=limit, connections=names, before=before
    )


def run_for(hub: Hub, user: Viewer, run_id: int) -> dict[str, Any]:
    """One run with its quarantined records; NotFoundError if it is not the user's."""
    run = run_store.get_run(hub.store.engine, run_id)
    if run["connection"] not in visible_connections(hub, user):
        raise NotFoundError(f"no run {run_id}")
    with hub.store.engine.connect() as conn:
        run["quarantine"] = [
            {"id": r.id, "line": r.line, "stage": r.stage, "errors": orjson.loads(r.errors)}
            for r in conn.execute(
                select(_q.c.id, _q.c.line, _q.c.stage, _q.c.errors).where(_q.c.run_id == run_id).order_by(_q.c.id).limit(200)
            )
        ]
    return run


QUARANTINE_PAGE = 500


def quarantine_list(
    hub: Hub, user: User, *, connection: str | None = None, status: str = "open", after: int | None = None
) -> tuple[list[dict], int]:
    """A page of the entries the user may see (the next after id ``after``), and how many there are in all.

    Platform staff also see what the API refused.
    """
    names = visible_connections(hub, user)
    if connection and connection not in names:
        return [], 0
    scope = {"connection": connection or None, "status": status, "connections": names, "with_api": user.is_platform and not connection}
    with hub.store.engine.connect() as conn:
        return q_store.list_entries(conn, limit=QUARANTINE_PAGE, after=after, **scope), q_store.count_entries(conn, **scope)


def quarantine_entry(hub: Hub, user: User, entry_id: int) -> dict[str, Any]:
    """One entry; NotFoundError if it is not the user's."""
    with hub.store.engine.connect() as conn:
        entry = q_store.get_entry(conn, entry_id)
    received = entry["stage"] == q_store.API_STAGE  # refused over the API: the platform's staff see it
    if not (received and user.is_platform) and entry["connection"] not in visible_connections(hub, user):
        raise NotFoundError(f"no quarantine entry {entry_id}")
    return entry


def _touches_own(user: User, match: dict) -> bool:
    """Whether a reconciliation decision concerns one of the user's donations (platform staff: all)."""
    from hub.reconcile.service import touches

    return touches(user.association_id, match["donation_keys"])


def decisions(hub: Hub, user: User) -> list[dict]:
    """Every reconciliation decision touching the user's donations, oldest first."""
    from hub.reconcile.service import list_matches

    return list_matches(hub, status=None, limit=None, association=user.association_id)


def suggestions(hub: Hub, user: User) -> tuple[list[dict], dict[str, int]]:
    """Open suggestions touching the user's donations, oldest first, and the count of decisions per status.

    Both asked of the store: the suggestions are the few a person has to look at, however
    many decisions were made before them.
    """
    from hub.reconcile.service import count_matches, list_matches

    waiting = list_matches(hub, status="suggested", limit=None, association=user.association_id)
    return waiting, count_matches(hub, association=user.association_id)


def match_for(hub: Hub, user: User, match_id: int) -> dict[str, Any]:
    """One decision with its bank line and donations; NotFoundError if it touches none of the user's donations."""
    from hub.reconcile.service import show_match

    m = show_match(hub, match_id)
    if not _touches_own(user, m):
        raise NotFoundError(f"no match {match_id}")
    return m


def governorate_summary(hub: Hub, principal: Principal, entity: str, filters: Filters) -> list[dict[str, Any]]:
    """Records per governorate (and households reached, for distributions), as the page filters them.

    Where each entity keeps its governorates is the API filters' table: a record counts under
    its own governorate, else under each one it lists. Amounts are added per currency, and a
    redenominated one per epoch by the record's date (hub.services.report.Money).
    """
    from hub.reconcile.convert import settings_from
    from hub.services.report import Money, record_day

    single, lists = GOVERNORATE_FIELDS[entity]
    units = settings_from(hub.config.reconcile)
    dated = DATE_FIELD.get(entity)
    q = select(_records.c.data).where(*where_clauses(hub.store.dialect, principal, entity, filters))
    out: dict[str, dict[str, Any]] = defaultdict(lambda: {"count": 0, "households": 0, "amounts": Money(units)})
    with hub.store.engine.connect() as conn:
        for (data,) in conn.execute(q):
            rec = orjson.loads(data)
            places = [rec[f] for f in single if rec.get(f)][:1] or [g for f in lists for g in rec.get(f) or []] or ["(none)"]
            on = record_day(rec.get(dated)) if dated else None
            for g in places:
                row = out[g]
                row["count"] += 1
                row["households"] += int(rec.get("households") or 0)
                row["amounts"].add(rec.get("value") or rec.get("target_amount"), rec.get("currency"), on)
    return [
        {"governorate": g, "count": v["count"], "households": v["households"], "amounts": v["amounts"].as_dict()}
        for g, v in sorted(out.items())
    ]
