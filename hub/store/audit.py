"""The audit log: append-only, each entry carrying the hash of the one before.

Altering or removing an entry breaks the chain from that entry on, and ``verify`` names the
first entry that no longer fits. Removing the last entries leaves a shorter chain that still
fits: no chain can see what is missing after its end. The head (the last entry's hash),
written down elsewhere, closes that gap: ``verify(conn, head=...)`` finds that entry still in
the chain, or says the log was cut back (or altered) since.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select

from hub import exactjson
from hub.errors import NotFoundError
from hub.store.db import hold_until_commit
from hub.store.models import audit_log_table

__all__ = ["GENESIS", "Verified", "append", "detail_line", "entries", "entry", "verify"]

_t = audit_log_table
GENESIS = "0" * 64


def _digest(prev: str, at: datetime, actor: str, action: str, subject: str, detail: str) -> str:
    body = "\x1f".join([prev, at.isoformat(), actor, action, subject, detail])
    return hashlib.sha256(body.encode()).hexdigest()


def append(conn: Connection, *, actor: str, action: str, subject: str, detail: dict, now: datetime) -> str:
    """Add an entry in the caller's transaction; returns its hash.

    On PostgreSQL two transactions could read the same last hash and fork the chain, so the
    append takes a transaction-scoped advisory lock first (SQLite has one writer anyway).
    """
    hold_until_commit(conn, "audit")
    prev = conn.execute(select(_t.c.hash).order_by(_t.c.id.desc()).limit(1)).scalar() or GENESIS
    body = exactjson.dumps(detail, sort_keys=True).decode()  # a cursor past 64 bits is kept whole
    h = _digest(prev, now, actor, action, subject, body)
    conn.execute(insert(_t).values(at=now, actor=actor, action=action, subject=subject, detail=body, prev_hash=prev, hash=h))
    return h


def entries(conn: Connection, *, subject_prefix: str | None = None, limit: int = 100, before: int | None = None) -> list[dict]:
    """Newest entries first (``before``: only entries older than that id, for the next page)."""
    q = select(_t).order_by(_t.c.id.desc()).limit(limit)
    if before is not None:
        q = q.where(_t.c.id < before)
    if subject_prefix:
        q = q.where(_t.c.subject.startswith(subject_prefix))
    return [_as_dict(r) for r in conn.execute(q)]


def _as_dict(r) -> dict:
    return {
        "id": r.id,
        "at": r.at.isoformat(),
        "actor": r.actor,
        "action": r.action,
        "subject": r.subject,
        "detail": exactjson.loads(r.detail),
    }


def detail_line(detail: Any, limit: int = 120) -> str:
    """An entry's detail as compact JSON (Arabic as written), cut to ``limit`` characters with "…" for a list.

    The platform's api.ingest entries name every record a batch wrote: hundreds of keys,
    which made each row of a list a screen long.
    """
    text = exactjson.dumps(detail).decode()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def entry(conn: Connection, entry_id: int) -> dict:
    """One entry, with the hashes that chain it; NotFoundError when there is none."""
    r = conn.execute(select(_t).where(_t.c.id == entry_id)).first()
    if r is None:
        raise NotFoundError(f"no audit entry {entry_id}")
    return {**_as_dict(r), "prev_hash": r.prev_hash, "hash": r.hash}


@dataclass(frozen=True)
class Verified:
    """What ``verify`` found: entries checked, the first bad one, the head, and the recorded head's place."""

    checked: int
    broken_at: int | None  # id of the first entry that does not fit; None when the chain holds
    head: str  # the hash of the last entry that fits (GENESIS for an empty log)
    head_at: int | None = None  # id of the entry carrying the recorded head; None if not found (or none asked)


def verify(conn: Connection, *, head: str | None = None) -> Verified:
    """Check the whole chain; with ``head`` (a hash recorded earlier), also where that entry is now."""
    prev = GENESIS
    n = 0
    found = 0 if head == GENESIS else None
    for r in conn.execute(select(_t).order_by(_t.c.id)):
        n += 1
        if r.prev_hash != prev or _digest(prev, r.at, r.actor, r.action, r.subject, r.detail) != r.hash:
            return Verified(n, r.id, prev, found)
        prev = r.hash
        if head is not None and r.hash == head:
            found = r.id
    return Verified(n, None, prev, found)
