"""Upserting a batch of records by natural key: the hot path of every run.

Unchanged content (same hash) is a no-op; changed content bumps the version and keeps the
replaced version in ``record_history``. Existing rows are looked up once per batch (by key,
in chunks), inserts and updates go out as executemany: a few statements per batch, not per
record.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from itertools import repeat
from typing import NamedTuple

import orjson
from sqlalchemy import Connection, bindparam, select, update

from hub.store import changes
from hub.store.bulk import db_value, in_clauses, insert_many, insert_tuples, select_in
from hub.store.freshness import keep_fresh
from hub.store.models import record_history_table, records_table

__all__ = ["MAX_KEY", "Prepared", "Stored", "Upserted", "prepared_from", "stored_rows", "upsert_batch"]

_records = records_table
MAX_KEY = _records.c.key.type.length  # a natural key longer than its column holds is the record's fault
_history = record_history_table
_INSERT_COLUMNS = [
    "entity",
    "key",
    "association_id",
    "data",
    "hash",
    "version",
    "connection",
    "run_id",
    "created_at",
    "updated_at",
    "change_seq",
    "source_version",
    "api_token_id",
]


class Prepared(NamedTuple):
    """A validated record ready to store: natural key, canonical JSON and its digest."""

    key: str
    data: str
    hash: str
    association_id: str | None


# A Prepared made from a plain 4-tuple without the Python-level ``__new__`` of a named tuple:
# the pipeline makes one per record.
prepared_from = functools.partial(tuple.__new__, Prepared)


class Stored(NamedTuple):
    """What the store holds of a key: its row, content digest, version, and the sender's version."""

    id: int
    hash: str
    version: int
    source_version: int | None
    run_id: int | None = None  # the run that wrote this version (None: the API or the hub itself)


def stored_rows(conn: Connection, entity: str, keys: list[str]) -> dict[str, Stored]:
    """The stored row of each of ``keys`` that ``entity`` has (one lookup, in the caller's transaction)."""
    rows = select_in(conn, _records, ["key", "id", "hash", "version", "source_version", "run_id"], {"entity": entity}, "key", keys)
    return {key: Stored(*rest) for key, *rest in rows}


@dataclass
class Upserted:
    """What a batch did: counts, and each new record version (for the outbox)."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    versions: list[tuple[str, int, str, str]] = field(default_factory=list)  # key, version, hash, data
    # Keys this run had already written with other content (earlier in the batch or in an
    # earlier batch): two rows of one export with one id, of which the later is kept.
    repeated: list[str] = field(default_factory=list)


def upsert_batch(
    conn: Connection,
    entity: str,
    items: list[Prepared],
    *,
    connection: str,
    run_id: int | None,
    now: datetime,
    keep_owned: bool = True,
    source_versions: dict[str, int] | None = None,
    stored: dict[str, Stored] | None = None,
    api_token_id: int | None = None,
) -> Upserted:
    """Store ``items`` (in source order; a key seen twice keeps the later content).

    ``keep_owned``: a source's version keeps the hub-maintained fields of the stored record
    (see ``KEPT_FIELDS``); the hub's own writers (reconciliation) pass False.
    ``source_versions``: the version the sending hub gave each key (API ingestion), stored
    with the record so that an older version arriving late is recognised.
    ``stored``: what :func:`stored_rows` returned for these keys in this transaction, when the
    caller already looked (API ingestion does, to recognise late versions); else looked up here.
    ``api_token_id``: the API token whose request this is, kept on each version it writes.
    """
    sv = source_versions or {}
    out = Upserted()
    if not items:
        return out
    columns = list(zip(*items))  # keys, data, hashes, owners
    keys = list(set(columns[0]))
    existing = stored if stored is not None else stored_rows(conn, entity, keys)
    if not existing and len(keys) == len(items):
        # Every record is new and no key repeats (a first load, new rows of an export): the
        # rows are zipped together column by column, without a Python step per record.
        return _insert_new(conn, entity, columns, connection=connection, run_id=run_id, now=now, sv=sv, token=api_token_id)

    if keep_owned and entity in KEPT_FIELDS:
        items = _keep_owned_fields(conn, entity, items, existing)

    # New keys, in first-seen order: [key, association_id, data, hash, version] (lists, not
    # dicts: this loop runs once per record of every batch).
    inserts: dict[str, list] = {}
    updates: dict[str, dict] = {}
    history: list[dict] = []
    replaced_ids: list[int] = []
    unchanged = 0
    for it in items:
        key, data, digest, owner = it
        pending = inserts.get(key)
        if pending is not None:
            if pending[3] == digest:
                unchanged += 1
                continue
            # A second, different version of one key inside one batch: keep the first in history.
            history.append(_history_row(entity, key, _as_row(pending), connection, run_id, now))
            pending[1:] = [owner, data, digest, pending[4] + 1]
            out.updated += 1
            out.repeated.append(key)
            continue
        pending = updates.get(key)
        if pending is not None:
            if pending["hash"] == digest:
                unchanged += 1
                continue
            history.append(_history_row(entity, key, pending, connection, run_id, now))
            pending.update(data=data, hash=digest, version=pending["version"] + 1, association_id=owner)
            out.updated += 1
            out.repeated.append(key)
            continue
        found = existing.get(key)
        if found is None:
            inserts[key] = [key, owner, data, digest, 1]
        elif found.hash == digest:
            unchanged += 1
        else:
            if run_id is not None and found.run_id == run_id:
                out.repeated.append(key)
            replaced_ids.append(found.id)
            updates[key] = {
                "b_id": found.id,
                "key": key,
                "association_id": owner,
                "data": data,
                "hash": digest,
                "version": found.version + 1,
                "connection": connection,
                "run_id": run_id,
                "updated_at": now,
                "source_version": sv.get(key),
                "api_token_id": api_token_id,
            }
            out.updated += 1
    out.inserted = len(inserts)
    out.unchanged = unchanged

    if replaced_ids:
        # Copy the versions being replaced into history before overwriting them.
        replaced = select(
            _records.c.key,
            _records.c.version,
            _records.c.data,
            _records.c.hash,
            _records.c.connection,
            _records.c.run_id,
            _records.c.updated_at,
        )
        for clause, params in in_clauses(conn, _records.c.id, replaced_ids):
            for row in conn.execute(replaced.where(clause), params):
                history.append(
                    {
                        "entity": entity,
                        "key": row.key,
                        "version": row.version,
                        "data": row.data,
                        "hash": row.hash,
                        "connection": row.connection,
                        "run_id": row.run_id,
                        "valid_from": row.updated_at,
                        "replaced_at": now,
                    }
                )
    seq = changes.take(conn, len(inserts) + len(updates))
    for row in updates.values():
        row["change_seq"] = seq
        seq += 1
    if inserts:
        keys, owners, data, hashes, versions = zip(*inserts.values())
        _insert(
            conn,
            entity,
            keys,
            owners,
            data,
            hashes,
            versions,
            seq,
            connection=connection,
            run_id=run_id,
            now=now,
            sv=sv,
            token=api_token_id,
        )
    if updates:
        conn.execute(
            update(_records)
            .where(_records.c.id == bindparam("b_id"))
            .values(
                association_id=bindparam("association_id"),
                data=bindparam("data"),
                hash=bindparam("hash"),
                version=bindparam("version"),
                connection=bindparam("connection"),
                run_id=bindparam("run_id"),
                updated_at=bindparam("updated_at"),
                change_seq=bindparam("change_seq"),
                source_version=bindparam("source_version"),
                api_token_id=bindparam("api_token_id"),
            ),
            [{k: v for k, v in u.items() if k != "key"} for u in updates.values()],
        )
    if history:
        insert_many(conn, _history, history)
    out.versions = [(key, version, digest, data) for key, _owner, data, digest, version in inserts.values()]
    out.versions += [(row["key"], row["version"], row["hash"], row["data"]) for row in updates.values()]
    return out


def _insert_new(
    conn: Connection, entity: str, columns: list[tuple], *, connection: str, run_id, now: datetime, sv: dict, token: int | None
) -> Upserted:
    """Insert records none of which is stored yet, each key once: version 1 of each."""
    keys, data, hashes, owners = columns
    n = len(keys)
    seq = changes.take(conn, n)
    _insert(conn, entity, keys, owners, data, hashes, repeat(1, n), seq, connection=connection, run_id=run_id, now=now, sv=sv, token=token)
    return Upserted(inserted=n, versions=list(zip(keys, repeat(1, n), hashes, data)))


def _insert(
    conn: Connection, entity: str, keys, owners, data, hashes, versions, first_seq: int, *, connection, run_id, now, sv, token
) -> None:
    """INSERT new records given column by column; rows are zipped in C, not built per record."""
    n = len(keys)
    stamp = db_value(conn, _records, "created_at", now)
    source_versions = map(sv.get, keys) if sv else repeat(None, n)
    rows = list(
        zip(
            repeat(entity, n),
            keys,
            owners,
            data,
            hashes,
            versions,
            repeat(connection, n),
            repeat(run_id, n),
            repeat(stamp, n),
            repeat(stamp, n),
            range(first_seq, first_seq + n),
            source_versions,
            repeat(token, n),
        )
    )
    insert_tuples(conn, _records, _INSERT_COLUMNS, rows)
    keep_fresh(conn, "records", n)  # PostgreSQL: each batch's key lookup planned for the table as it is now


def _as_row(pending: list) -> dict:
    """An insert still pending in this batch, in the shape ``_history_row`` takes."""
    key, owner, data, digest, version = pending
    return {"key": key, "association_id": owner, "data": data, "hash": digest, "version": version}


# Fields the hub itself maintains on records a source also sends: a source that knows nothing
# of them (an association's CSV of pledges) must not erase them on its next sync.
KEPT_FIELDS: dict[str, tuple[str, ...]] = {"donation": ("received_amount", "transactions", "received_at")}


def _keep_owned_fields(conn: Connection, entity: str, items: list[Prepared], existing: dict[str, Stored]) -> list[Prepared]:
    """Carry the hub-maintained fields of stored records into incoming versions that lack them."""
    changed = [it for it in items if it.key in existing and existing[it.key].hash != it.hash]
    if not changed:
        return items
    ids = [existing[it.key].id for it in changed]
    old: dict[str, dict] = {}
    for clause, params in in_clauses(conn, _records.c.id, ids):
        for key, data in conn.execute(select(_records.c.key, _records.c.data).where(clause), params):
            old[key] = orjson.loads(data)
    fields = KEPT_FIELDS[entity]
    out = []
    for it in items:
        prev = old.get(it.key)
        if prev is None or not any(f in prev for f in fields):
            out.append(it)
            continue
        rec = orjson.loads(it.data)
        if any(f in rec for f in fields):
            out.append(it)  # the source speaks of them itself: it wins
            continue
        for f in fields:
            if f in prev:
                rec[f] = prev[f]
        if entity == "donation" and rec.get("status") == "pledged" and prev.get("status") == "received":
            rec["status"] = "received"  # paid, as reconciliation found; the source has not caught up
        body = orjson.dumps(rec, option=orjson.OPT_SORT_KEYS)
        out.append(Prepared(it.key, body.decode(), hashlib.blake2b(body, digest_size=16).hexdigest(), it.association_id))
    return out


def _history_row(entity, key, pending, connection, run_id, now) -> dict:
    return {
        "entity": entity,
        "key": key,
        "version": pending["version"],
        "data": pending["data"],
        "hash": pending["hash"],
        "connection": connection,
        "run_id": run_id,
        "valid_from": now,
        "replaced_at": now,
    }
