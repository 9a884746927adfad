"""Quarantine: every record that could not be stored or delivered, raw payload and all errors kept.

Entries are ``open`` until replayed (they passed after a fix) or dismissed (with a reason).
Nothing here deletes a row: a decision changes its status and is audited by the caller. A
corrected entry keeps the payload as the source sent it beside what was stored (``corrected``),
and a source row settled so, dismissed or corrected, is not brought back when the source
sends it again unchanged (a cumulative export re-read in full).
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Connection, func, insert, or_, select, update

from hub import exactjson
from hub.errors import NotFoundError
from hub.store.models import quarantine_table

__all__ = ["API_STAGE", "add_entries", "count_entries", "get_entry", "list_entries", "set_errors", "set_status", "settled"]

_t = quarantine_table
API_STAGE = "api"  # the stage of records refused over the API (their connection: api:<token name>)


def _dumps(value: Any) -> str:
    return exactjson.dumps(value).decode()


# Stages whose entries are not settled here for good: a record refused over the API is the
# sender's to fix and send again, a refused delivery the destination's to take. A source's
# rows (every other stage) are settled by the person who dismisses or corrects them.
_FIXED_ELSEWHERE = {API_STAGE, "deliver"}


def add_entries(conn: Connection, rows: list[dict], *, now: datetime) -> list[int | None]:
    """Insert entries (``connection, stream, entity, stage, line, raw, errors, run_id``); returns ids.

    A payload already open in quarantine for the same stream (the same bad row read again by
    the next run of an unchanged file) is not added twice: its existing id is returned. A
    source's row already settled (dismissed, or corrected and stored) is not added again: None.
    """
    ids: list[int | None] = []
    for r in rows:
        raw = _dumps(r["raw"])
        digest = _digest(raw)
        found = conn.execute(
            select(_t.c.id)
            .where(
                _t.c.connection == r["connection"],
                _t.c.stream == r["stream"],
                _t.c.raw_hash == digest,
                _t.c.status == "open",
            )
            .limit(1)
        ).scalar()
        if found is not None:
            # Same bad row read again: keep one entry, with the errors as judged now.
            conn.execute(update(_t).where(_t.c.id == found).values(errors=_dumps(r["errors"]), stage=r["stage"], run_id=r.get("run_id")))
            ids.append(found)
            continue
        if r["stage"] not in _FIXED_ELSEWHERE and _settled(conn, r["connection"], r["stream"], digest):
            ids.append(None)
            continue
        res = conn.execute(
            insert(_t).values(
                run_id=r.get("run_id"),
                connection=r["connection"],
                stream=r["stream"],
                entity=r["entity"],
                stage=r["stage"],
                line=r.get("line"),
                raw=raw,
                raw_hash=digest,
                errors=_dumps(r["errors"]),
                status="open",
                created_at=now,
            )
        )
        ids.append(res.inserted_primary_key[0])
    return ids


def _digest(raw: str) -> str:
    return hashlib.blake2b(raw.encode(), digest_size=16).hexdigest()


def settled(conn: Connection, connection: str, stream: str, raws: list[Any]) -> list[bool]:
    """For each raw row a stream would quarantine, whether a person has settled it: a run passes it over."""
    return [_settled(conn, connection, stream, _digest(_dumps(raw))) for raw in raws]


def _settled(conn: Connection, connection: str, stream: str, digest: str) -> bool:
    """Whether the latest closed entry of this very payload was dismissed, or corrected and stored.

    A row replayed as it was (the mapping was mended) is not settled: failing again, it is a
    new problem. Retention (``jobs.retention``) purges closed entries in time; a row read again
    after that comes back to be looked at once more.
    """
    last = conn.execute(
        select(_t.c.status, _t.c.corrected.is_not(None))
        .where(_t.c.connection == connection, _t.c.stream == stream, _t.c.raw_hash == digest, _t.c.status != "open")
        .order_by(_t.c.id.desc())
        .limit(1)
    ).first()
    return last is not None and (last[0] == "dismissed" or (last[0] == "replayed" and bool(last[1])))


def _as_dict(r) -> dict[str, Any]:
    return {
        "id": r.id,
        "run_id": r.run_id,
        "connection": r.connection,
        "stream": r.stream,
        "entity": r.entity,
        "stage": r.stage,
        "line": r.line,
        "raw": exactjson.loads(r.raw),
        "corrected": exactjson.loads(r.corrected) if r.corrected is not None else None,
        "errors": orjson.loads(r.errors),
        "status": r.status,
        "reason": r.reason,
        "created_at": r.created_at.isoformat(),
        "resolved_at": r.resolved_at.isoformat() if r.resolved_at else None,
    }


def get_entry(conn: Connection, entry_id: int) -> dict[str, Any]:
    """One entry; NotFoundError when there is none."""
    r = conn.execute(select(_t).where(_t.c.id == entry_id)).first()
    if r is None:
        raise NotFoundError(f"no quarantine entry {entry_id}", hint="hub quarantine list shows the open ones")
    return _as_dict(r)


def _filtered(q, connection: str | None, status: str | None, connections: list[str] | None, with_api: bool):
    if connection:
        q = q.where(_t.c.connection == connection)
    if connections is not None:
        allowed = _t.c.connection.in_(connections)
        q = q.where(or_(allowed, _t.c.stage == API_STAGE) if with_api else allowed)
    if status:
        q = q.where(_t.c.status == status)
    return q


def list_entries(
    conn: Connection,
    *,
    connection: str | None = None,
    status: str | None = "open",
    limit: int | None = 100,
    connections: list[str] | None = None,
    with_api: bool = False,
    after: int | None = None,
) -> list[dict[str, Any]]:
    """Entries, oldest first, filtered by connection(s) and status (None: any status); ``after``: past that id.

    ``with_api``: with ``connections``, also the records refused over the API (stage ``api``).
    """
    q = _filtered(select(_t).order_by(_t.c.id), connection, status, connections, with_api)
    if after:
        q = q.where(_t.c.id > after)
    if limit:
        q = q.limit(limit)
    return [_as_dict(r) for r in conn.execute(q)]


def count_entries(
    conn: Connection,
    *,
    connection: str | None = None,
    status: str | None = "open",
    connections: list[str] | None = None,
    with_api: bool = False,
) -> int:
    """How many entries :func:`list_entries` would list with no limit."""
    return conn.execute(_filtered(select(func.count()).select_from(_t), connection, status, connections, with_api)).scalar_one()


def set_status(conn: Connection, entry_id: int, status: str, *, reason: str | None, now: datetime, raw: Any = None) -> None:
    """Mark an entry replayed or dismissed; ``raw``: the corrected payload that was stored, kept beside the one sent."""
    values: dict[str, Any] = {"status": status, "reason": reason, "resolved_at": now}
    if raw is not None:
        values["corrected"] = _dumps(raw)
    conn.execute(update(_t).where(_t.c.id == entry_id).values(**values))


def set_errors(conn: Connection, entry_id: int, errors: list[dict], *, stage: str) -> None:
    """An open entry judged again as it stands (a replay after a config fix): its errors as they are now."""
    conn.execute(update(_t).where(_t.c.id == entry_id, _t.c.status == "open").values(errors=_dumps(errors), stage=stage))
