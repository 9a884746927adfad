"""Receiving records over the API: validate each, apply the token's scope, store, answer per record.

This is the platform side of a push. One request is one transaction: the records it stores,
the quarantine entries of the ones it refuses, its audit entry and (with an
``Idempotency-Key``) the answer it gave, so a repeat of the request finds that answer and
changes nothing. A record carries the version its sending hub gave it; a version older than
the one already stored is answered ``unchanged`` and not applied, so a late retry can never
roll a record back.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Connection, bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError

from hub import exactjson
from hub.app import Hub
from hub.errors import HubError
from hub.pipeline.prepare import Preparer, Rejected
from hub.schema import ENTITIES, entity_key
from hub.services.tokens import Principal
from hub.store import audit
from hub.store import quarantine as quarantine_store
from hub.store.models import api_requests_table, records_table
from hub.store.records import Prepared, stored_rows, upsert_batch
from hub.store.types import utcnow
from hub.text.nearest import did_you_mean

__all__ = ["Answer", "ApiProblem", "DEFAULT_MAX_BATCH", "MAX_VERSION", "batch_digest", "ingest", "legacy_digest", "unknown_entity"]

DEFAULT_MAX_BATCH = 1000
MAX_VERSION = 2**31 - 1  # the records' version columns are 32-bit integers on every store
_requests = api_requests_table
_records = records_table


class ApiProblem(HubError):
    """A request the API refuses as a whole, with the HTTP status to answer."""

    def __init__(self, status: int, message: str, *, errors: list[dict] | None = None, headers: dict | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.errors = errors or []
        self.headers = headers


@dataclass(frozen=True)
class Answer:
    """What the API answers: HTTP status, JSON body, and whether it is a stored first answer."""

    status: int
    body: dict
    replayed: bool = False


def unknown_entity(entity: str) -> ApiProblem:
    """The 404 of a path naming no entity, with the one likely meant (``donations``: ``donation``)."""
    near = did_you_mean(entity, ENTITIES)
    known = f" (known: {', '.join(ENTITIES)})" if near else f"; known: {', '.join(ENTITIES)}"
    return ApiProblem(404, f"unknown entity {entity!r}{near}{known}")


def batch_digest(fingerprints: list[str], versions: Any) -> str:
    """The digest an idempotent request is recognised by: its records' content digests and versions.

    Each record's digest is that of its canonical JSON (sorted keys), which preparing it made
    anyway, so key order does not matter and the body is not serialised a second time (up
    to a twentieth of the platform's time per batch).
    """
    h = hashlib.sha256(orjson.dumps(versions))
    h.update("".join(fingerprints).encode())
    return h.hexdigest()


def legacy_digest(body: Any) -> str:
    """The digest of the whole body with sorted keys, as answers stored before ``batch_digest`` have it."""
    return hashlib.sha256(exactjson.dumps(body, sort_keys=True)).hexdigest()


def _fingerprint(raw: object) -> str:
    """A refused record's content digest: of its canonical JSON, as a prepared record's is."""
    return hashlib.blake2b(exactjson.dumps(raw, sort_keys=True), digest_size=16).hexdigest()


def _stored_answer(conn: Connection, principal: Principal, entity: str, key: str, digest: str, body: Any) -> Answer | None:
    """The first answer given under ``key``, if any; 422 if the key was used for another request."""
    row = conn.execute(
        select(_requests.c.request_hash, _requests.c.status_code, _requests.c.response).where(
            _requests.c.token_id == principal.token_id, _requests.c.idempotency_key == key
        )
    ).first()
    if row is None:
        return None
    first = orjson.loads(row.response)
    same = row.request_hash == digest or row.request_hash == legacy_digest(body)
    if not same or first.get("entity") != entity:
        raise ApiProblem(
            422,
            f"Idempotency-Key {key!r} was already used for a different request"
            + (" body" if first.get("entity") == entity else f" (to {first.get('entity')}/batch)"),
            errors=[{"path": "Idempotency-Key", "rule": "idempotency", "message": "use a new key for a new request"}],
        )
    return Answer(row.status_code, first, replayed=True)


def _shape(entity: str, body: Any, max_batch: int) -> tuple[list, list[int | None]]:
    if entity not in ENTITIES:
        raise unknown_entity(entity)
    if not isinstance(body, dict) or not isinstance(body.get("records"), list):
        keys = [k for k in body if k != "records"] if isinstance(body, dict) else []
        misnamed = next((near for k in keys if (near := did_you_mean(k, ["records"], quote=json.dumps))), "")
        raise ApiProblem(
            422,
            'the body must be a JSON object {"records": [...]}' + misnamed,
            errors=[{"path": "records", "rule": "required", "message": "a list of records"}],
        )
    records = body["records"]
    extra = sorted(set(body) - {"records", "versions"})
    if extra:
        raise ApiProblem(
            422,
            f"unknown key(s) in the body: {', '.join(extra)}",
            errors=[{"path": k, "rule": "additionalProperties", "message": "not allowed"} for k in extra],
        )
    if not records:
        raise ApiProblem(422, "records is empty", errors=[{"path": "records", "rule": "minItems", "message": "send at least one record"}])
    if len(records) > max_batch:
        raise ApiProblem(
            413,
            f"{len(records)} records in one request; at most {max_batch} are accepted",
            errors=[{"path": "records", "rule": "maxItems", "message": f"split into batches of {max_batch}"}],
        )
    versions = body.get("versions")
    if versions is None:
        return records, [None] * len(records)
    if (
        not isinstance(versions, list)
        or len(versions) != len(records)
        or not all(isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= MAX_VERSION for v in versions)
    ):
        raise ApiProblem(
            422,
            f"versions must be a list of whole numbers from 1 to {MAX_VERSION}, one per record",
            errors=[{"path": "versions", "rule": "type", "message": f"one whole number from 1 to {MAX_VERSION} per record"}],
        )
    return records, versions


def ingest(
    hub: Hub, principal: Principal, entity: str, body: Any, *, idempotency_key: str | None = None, max_batch: int = DEFAULT_MAX_BATCH
) -> Answer:
    """Store a batch of ``entity`` records sent by ``principal``; the answer lists each record's fate."""
    if not principal.can_write:
        raise ApiProblem(403, f"token {principal.name!r} has no write right")
    records, versions = _shape(entity, body, max_batch)
    preparer = Preparer(entity, entity_key(entity), None, [], {"connection": f"api:{principal.name}", "stream": entity})
    results: list[dict] = [{}] * len(records)
    good: list[tuple[int, Prepared]] = []
    refused: list[tuple[int, Rejected]] = []
    fingerprints: list[str] = []
    prepare = preparer.bound()
    for i, raw in enumerate(records):
        out = prepare(raw, i)
        if isinstance(out, Rejected):
            if idempotency_key:
                fingerprints.append(_fingerprint(raw))
            refused.append((i, out))
            results[i] = {"index": i, "status": "rejected", "errors": [p.as_dict() for p in out.problems]}
            continue
        fingerprints.append(out.hash)
        if not principal.may_touch(out.association_id):
            problem = (
                {
                    "path": "id" if entity == "association" else "association_id",
                    "rule": "scope",
                    "message": f"this token writes only association {principal.association_id!r} records, not {out.association_id!r}",
                }
                if out.association_id is not None
                else {
                    "path": "(record)",
                    "rule": "scope",
                    "message": f"{entity} records name no association, so only a platform token may write them",
                }
            )
            refused.append((i, Rejected("scope", i, raw, [])))
            results[i] = {"index": i, "key": out.key, "status": "rejected", "errors": [problem]}
        else:
            good.append((i, out))

    digest = batch_digest(fingerprints, body.get("versions")) if idempotency_key else ""
    now = utcnow()
    try:
        with hub.store.writing(f"records:{entity}") as conn:
            # A repeat of a request, or its twin that committed while this one waited for the lock.
            stored = _stored_answer(conn, principal, entity, idempotency_key, digest, body) if idempotency_key else None
            if stored is not None:
                return stored
            answer = _apply(conn, principal, entity, records, versions, good, refused, results, now, idempotency_key, digest)
    except IntegrityError:
        # The same key raced in for another entity (another lock) and won: answer what it stored.
        if not idempotency_key:
            raise
        with hub.store.engine.connect() as conn:
            stored = _stored_answer(conn, principal, entity, idempotency_key, digest, body)
        if stored is None:
            raise
        return stored
    return answer


def _in_version_order(apply: list[tuple[int, Prepared]], versions: list[int | None]) -> list[tuple[int, Prepared]]:
    """Records of one key sent more than once in a request, put in the order of their versions.

    The store keeps the last of a key's records in a batch (the earlier ones go to history),
    so ``[v2, v1]`` of one record would otherwise store v1's content under version 2, and the
    real v2, arriving again, would be answered "already stored". Other records keep their places.
    """
    if not apply or versions[apply[0][0]] is None:
        return apply
    first: dict[str, int] = {}
    for n, (_i, p) in enumerate(apply):
        first.setdefault(p.key, n)
    if len(first) == len(apply):
        return apply
    return sorted(apply, key=lambda item: (first[item[1].key], versions[item[0]], item[0]))


def _apply(conn, principal, entity, records, versions, good, refused, results, now, idempotency_key, digest) -> Answer:
    connection = f"api:{principal.name}"
    # A version older than the stored one is a late retry: never roll a record back.
    stored = stored_rows(conn, entity, list({p.key for _, p in good}))  # looked up once, for both uses
    stored_versions = {key: row.source_version for key, row in stored.items()}
    apply: list[tuple[int, Prepared]] = []
    for i, p in good:
        sv, v = stored_versions.get(p.key), versions[i]
        if v is not None and sv is not None and v < sv:
            results[i] = {"index": i, "key": p.key, "status": "unchanged", "note": f"version {sv} is already stored; version {v} is older"}
        else:
            apply.append((i, p))
    apply = _in_version_order(apply, versions)
    sent_version: dict[str, int] = {}
    for i, p in apply:
        if versions[i] is not None:
            sent_version[p.key] = max(versions[i], sent_version.get(p.key, 0))
    up = upsert_batch(
        conn,
        entity,
        [p for _, p in apply],
        connection=connection,
        run_id=None,
        now=now,
        source_versions=sent_version,
        stored=stored,
        api_token_id=principal.token_id,
    )
    new_version = {key: version for key, version, _h, _d in up.versions}
    for i, p in apply:
        if p.key in new_version:
            results[i] = {"index": i, "key": p.key, "status": "accepted", "version": new_version[p.key]}
        else:
            results[i] = {"index": i, "key": p.key, "status": "unchanged"}
    # A newer version whose content is unchanged still moves the stored version on, so that
    # an older version arriving after it is recognised as older.
    bumped = [
        {"b_key": k, "b_v": v}
        for k, v in sent_version.items()
        if k not in new_version and (stored_versions.get(k) is None or v > stored_versions[k])
    ]
    if bumped:
        conn.execute(
            update(_records)
            .where(_records.c.entity == entity, _records.c.key == bindparam("b_key"))
            .values(source_version=bindparam("b_v")),
            bumped,
        )
    if refused:
        quarantine_store.add_entries(
            conn,
            [
                {
                    "run_id": None,
                    "connection": connection,
                    "stream": entity,
                    "entity": entity,
                    "stage": quarantine_store.API_STAGE,
                    "line": i,
                    "raw": records[i],
                    "errors": results[i]["errors"],
                }
                for i, _ in refused
            ],
            now=now,
        )
    counts = {s: sum(1 for r in results if r["status"] == s) for s in ("accepted", "unchanged", "rejected")}
    audit.append(
        conn,
        actor=principal.actor,
        action="api.ingest",
        subject=f"entity:{entity}",
        detail={
            "idempotency_key": idempotency_key,
            **counts,
            "written": sorted(new_version.items()),
        },
        now=now,
    )
    body = {"entity": entity, **counts, "results": results}
    if idempotency_key:
        conn.execute(
            insert(_requests).values(
                token_id=principal.token_id,
                idempotency_key=idempotency_key,
                request_hash=digest,
                status_code=200,
                response=orjson.dumps(body).decode(),
                created_at=now,
            )
        )
    return Answer(200, body)
