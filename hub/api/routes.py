"""The API's routes: each parses the request, calls one service, and answers JSON.

Ingestion reads the body itself, so that a body over the size limit is refused while it
arrives (413) rather than after it was held in memory, and so that JSON is parsed by orjson
(by the standard library where a body holds an integer orjson would round: hub.exactjson).
A gzip-compressed body (``Content-Encoding: gzip``, for associations on slow links) is
inflated as it arrives, and the size limit holds for what it inflates to.
"""

from __future__ import annotations

import zlib
from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Header, Path, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from hub import exactjson
from hub.api.answers import json_answer, problem_answers
from hub.api.auth import principal
from hub.api.models import Changes, Health, IngestAnswer, Item, Page, TokenInfo, VersionPage
from hub.schema import ENTITIES, load_schema
from hub.services import browse
from hub.services.ingest import DEFAULT_MAX_BATCH, MAX_VERSION, ApiProblem, ingest
from hub.services.tokens import Principal
from hub.store import epochs
from hub.store.db import HEAD_REVISION
from hub.store.types import MAX_ROW_ID
from hub.text.legacy import code_page_name, cut_short, not_utf8_from

__all__ = ["operations", "router"]


def only_known_query(request: Request) -> None:
    """Refuse query parameters the route does not take (422, naming them).

    Ignored, a misspelt filter (``governate=SY01``) or another API's paging word
    (``cursor=``) would answer every record as if it had filtered them.
    """
    route = request.scope["route"]
    known = _known_query.get(route.unique_id)
    if known is None:
        known = _known_query[route.unique_id] = _query_names(route.dependant)
    unknown = sorted(set(request.query_params) - known)
    if unknown:
        takes = f"it takes {', '.join(sorted(known))}" if known else "it takes none"
        raise ApiProblem(
            422,
            f"unknown query parameter(s) {', '.join(unknown)}; {takes}",
            errors=[{"path": name, "rule": "unknown", "message": "not a parameter of this endpoint"} for name in unknown],
        )


def _query_names(dependant) -> set[str]:
    """The query parameters a route reads, its dependencies' included."""
    names = {p.alias for p in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return names


_known_query: dict[str, set[str]] = {}
# The /api/v1 routes refuse query parameters they do not take; the operations routes do not
# (a probe or a scraper may add its own).
router = APIRouter(dependencies=[Depends(only_known_query)])
operations = APIRouter()
Caller = Annotated[Principal, Depends(principal)]
EntityPath = Annotated[str, Path(description="A common-schema entity", json_schema_extra={"enum": list(ENTITIES)})]
DEFAULT_MAX_BODY = 10 * 1024 * 1024
DEFAULT_MAX_PAGE = 1000
MAX_VERSIONS_PAGE = 10000  # a key and two numbers each: a page of them weighs less than 200 records
MAX_CURSOR = MAX_ROW_ID  # cursors are 64-bit row and sequence numbers
# Keys in a query are the schema's own: an id with a control character (a NUL, which
# PostgreSQL cannot hold in text) is a 422 naming the parameter, never a store error.
_DEFS = load_schema("bank_transaction")["$defs"]
IDENTIFIER, ACCOUNT = ({"max_length": _DEFS[d]["maxLength"], "pattern": _DEFS[d]["pattern"]} for d in ("identifier", "account"))
# Filters take only what a record can hold: SY15 or a misspelt sector is a 422, not an empty
# page that reads as "none there".
GOVERNORATE, SECTORS = _DEFS["governorate"]["pattern"], _DEFS["sector"]["enum"]
# The parameters every keyset-paged listing takes: whose records, and after which row.
AssociationQuery = Annotated[str | None, Query(**IDENTIFIER)]
AfterQuery = Annotated[int, Query(ge=0, le=MAX_CURSOR, description="next of the previous page")]
# The filters the listings, the account and the 3W share: where, in what, when.
GovernorateQuery = Annotated[str | None, Query(pattern=GOVERNORATE, description="Governorate P-code, SY01 to SY14")]
SectorQuery = Annotated[str | None, Query(json_schema_extra={"enum": SECTORS}, description="A sector of the common schema")]
FromQuery = Annotated[date | None, Query(alias="from", description="On or after this day (the record's own date)")]
ToQuery = Annotated[date | None, Query(alias="to", description="On or before this day (the record's own date)")]


def known_sector(sector: str | None) -> None:
    """422 for a sector the common schema does not have: filtered by it, every page would be empty."""
    if sector is not None and sector not in SECTORS:
        raise ApiProblem(
            422,
            f"sector {sector!r} is not a sector of the common schema",
            errors=[{"path": "sector", "rule": "enum", "message": f"one of {', '.join(SECTORS)}"}],
        )


async def _read_json(request: Request, limit: int):
    ctype = request.headers.get("content-type", "")
    if ctype.split(";")[0].strip().lower() not in ("application/json", ""):
        raise ApiProblem(415, f"the body must be application/json, not {ctype!r}")
    encoding = request.headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("identity", "gzip"):
        raise ApiProblem(415, f"Content-Encoding {encoding!r} is not taken; send the body as it is or gzip-compressed")
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise ApiProblem(413, f"the body is {declared} bytes; at most {limit} are accepted")
    raw = await (_inflated(request, limit) if encoding == "gzip" else _plain(request, limit))
    if not raw:
        raise ApiProblem(400, 'the body is empty; send {"records": [...]}')
    try:
        return exactjson.loads(raw)
    except exactjson.JSONDecodeError as exc:
        raise ApiProblem(400, _not_json(raw, exc)) from None


def _not_json(raw: bytes, exc: Exception) -> str:
    """Why a body is not JSON, in words.

    orjson's own words for bytes that are not UTF-8 (a system posting Windows-1256) are
    "str is not valid UTF-8: surrogates not allowed", which names neither the byte nor the cause.
    """
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as bad:
        if cut_short(bad):
            return "the body ends in the middle of a character: it was cut short"
        return f"the body is {not_utf8_from(raw, bad)}: JSON is sent as UTF-8; was it written in {code_page_name(raw)}?"
    return f"the body is not valid JSON: {exc}"


async def _plain(request: Request, limit: int) -> bytes:
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ApiProblem(413, f"the body is over {limit} bytes; send smaller batches")
        chunks.append(chunk)
    return b"".join(chunks)


async def _inflated(request: Request, limit: int) -> bytes:
    """A gzip body, inflated as it arrives; the limit holds for what it inflates to (no zip bomb)."""
    inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
    chunks, size = [], 0
    try:
        async for chunk in request.stream():
            out = inflate.decompress(chunk, limit + 1 - size)
            size += len(out)
            if size > limit or inflate.unconsumed_tail:
                raise ApiProblem(413, f"the body inflates to over {limit} bytes; send smaller batches")
            chunks.append(out)
    except zlib.error as exc:
        raise ApiProblem(400, f"the body is not valid gzip: {exc}") from None
    if chunks and not inflate.eof:
        raise ApiProblem(400, "the gzip body ends before its end: it was cut short")
    return b"".join(chunks)


_BATCH_BODY = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["records"],
                "properties": {
                    "records": {
                        "type": "array",
                        "minItems": 1,
                        "items": {"type": "object", "description": "A record of the entity's schema (GET /api/v1/schema/{entity})"},
                    },
                    "versions": {
                        "type": "array",
                        "items": {"type": "integer", "minimum": 1, "maximum": MAX_VERSION},
                        "description": "The sender's version of each record, in order; an older version than the stored one is not applied",
                    },
                },
            }
        }
    },
}


@router.post(
    "/api/v1/{entity}/batch",
    response_model=IngestAnswer,
    responses=problem_answers(400, 401, 403, 404, 413, 415, 422, 429, 503),
    openapi_extra={"requestBody": _BATCH_BODY},
    tags=["ingestion"],
    summary="Store a batch of records",
)
async def post_batch(
    entity: EntityPath,
    request: Request,
    caller: Caller,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", min_length=1, max_length=200)] = None,
) -> Response:
    """Validate and store up to ``api.max_batch_records`` records; answer each one's fate.

    With an ``Idempotency-Key``, a repeat of the request changes nothing and gets the first
    answer again (header ``Idempotent-Replayed: true``). A record outside the token's
    association is rejected, as is an invalid one; both are kept in the platform's quarantine.
    """
    api = request.app.state.hub.config.api
    body = await _read_json(request, int(api.get("max_body_bytes", DEFAULT_MAX_BODY)))
    answer = await run_in_threadpool(
        ingest,
        request.app.state.hub,
        caller,
        entity,
        body,
        idempotency_key=idempotency_key,
        max_batch=int(api.get("max_batch_records", DEFAULT_MAX_BATCH)),
    )
    metrics = request.app.state.metrics
    if not answer.replayed:
        for status in ("accepted", "unchanged", "rejected"):
            if answer.body[status]:
                metrics.ingested.labels(entity, status).inc(answer.body[status])
    return json_answer(answer.body, answer.status, {"Idempotent-Replayed": "true"} if answer.replayed else None)


def _page_size(request: Request, limit: int) -> int:
    return min(limit, int(request.app.state.hub.config.api.get("max_page_size", DEFAULT_MAX_PAGE)))


@router.get(
    "/api/v1/changes",
    response_model=Changes,
    responses=problem_answers(401, 403, 404, 409, 422, 429, 503),
    tags=["reading"],
    summary="What changed since a cursor",
)
def get_changes(
    request: Request,
    caller: Caller,
    since: Annotated[int, Query(ge=0, le=MAX_CURSOR, description="next_since of the previous answer; 0 for everything")] = 0,
    entity: Annotated[str | None, Query(description="Only this entity", json_schema_extra={"enum": list(ENTITIES)})] = None,
    limit: Annotated[int, Query(ge=1, le=10000)] = 500,
    origin: Annotated[
        Literal["any", "others"],
        Query(description="others: leave out what tokens of this token's own scope wrote (a pushing hub's own records)"),
    ] = "any",
) -> Response:
    """Record versions committed after ``since``, oldest first, within the token's scope.

    409 when ``since`` is past the newest change this hub has numbered: it was restored from a
    backup or replaced since the reader's last pull.
    """
    return json_answer(
        browse.changes(request.app.state.hub, caller, since=since, entity=entity, limit=_page_size(request, limit), origin=origin)
    )


@router.get(
    "/api/v1/token",
    response_model=TokenInfo,
    responses=problem_answers(401, 422, 429, 503),
    tags=["reading"],
    summary="What this token may do",
)
def get_token(request: Request, caller: Caller) -> Response:
    """The presented token's scope and rights, and this hub's store epoch.

    A connector's ``check`` shows the scope and rights. A hub that pushes here asks before
    each delivery: a store epoch other than the one it saw last means this hub's store was
    restored from a backup or replaced, and it sends everything again (what is already here
    is answered unchanged).
    """
    with request.app.state.hub.store.engine.begin() as conn:
        epoch = epochs.current(conn)
    return json_answer(
        {
            "name": caller.name,
            "association_id": caller.association_id,
            "platform": caller.is_platform,
            "read": caller.can_read,
            "write": caller.can_write,
            "expires_at": caller.expires_at.isoformat() if caller.expires_at else None,
            "store_epoch": epoch,
        }
    )


@router.get(
    "/api/v1/versions/{entity}",
    response_model=VersionPage,
    responses=problem_answers(401, 403, 404, 422, 429, 503),
    tags=["reading"],
    summary="Keys and versions of records, without the records",
)
def get_versions(
    entity: EntityPath,
    request: Request,
    caller: Caller,
    association: AssociationQuery = None,
    after: AfterQuery = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_VERSIONS_PAGE)] = MAX_VERSIONS_PAGE,
) -> Response:
    """Each record's key, this hub's version and the sending hub's (``source_version``), within the token's scope.

    What a hub that pushes here compares with its own store (``hub compare``) to find what
    this hub lacks or holds older, after a restore from a backup, without fetching a record.
    """
    return json_answer(browse.list_versions(request.app.state.hub, caller, entity, association, after=after, limit=limit))


@router.get(
    "/api/v1/schema/{entity}",
    responses=problem_answers(404, 422),
    tags=["reading"],
    summary="An entity's JSON Schema",
)
def get_schema(entity: EntityPath) -> Response:
    """The common schema of ``entity`` (JSON Schema 2020-12), as the ingestion validates it."""
    return json_answer(load_schema(entity))


@router.get(
    "/api/v1/{entity}",
    response_model=Page,
    responses=problem_answers(401, 403, 404, 422, 429, 503),
    tags=["reading"],
    summary="List records",
)
def get_records(
    entity: EntityPath,
    request: Request,
    caller: Caller,
    association: AssociationQuery = None,
    governorate: GovernorateQuery = None,
    sector: SectorQuery = None,
    date_from: FromQuery = None,
    date_to: ToQuery = None,
    program: Annotated[
        str | None, Query(**IDENTIFIER, description="Donations and distributions of this program (or the program itself)")
    ] = None,
    after: AfterQuery = 0,
    limit: Annotated[int, Query(ge=1, le=10000)] = 100,
) -> Response:
    """A page of records, filtered, within the token's scope (an association token sees its own)."""
    known_sector(sector)
    filters = browse.Filters(association, governorate, sector, date_from, date_to, program)
    return json_answer(browse.list_records(request.app.state.hub, caller, entity, filters, after=after, limit=_page_size(request, limit)))


@router.get(
    "/api/v1/{entity}/{record_id:path}",
    response_model=Item,
    responses=problem_answers(401, 403, 404, 422, 429, 503),
    tags=["reading"],
    summary="One record, by its key",
)
def get_record(
    entity: EntityPath,
    record_id: Annotated[
        str,
        Path(
            **IDENTIFIER,
            description="The record's id (an association's id, for association)",
        ),
    ],
    request: Request,
    caller: Caller,
    association: Annotated[
        str | None,
        Query(
            **IDENTIFIER,
            description="The association whose record it is (a platform token must say)",
        ),
    ] = None,
    account: Annotated[
        str | None,
        Query(
            **ACCOUNT,
            description="For bank_transaction: the account (IBAN or local number, capitals)",
        ),
    ] = None,
) -> Response:
    """The version of one record this hub holds, within the token's scope; 404 if none is."""
    return json_answer(browse.get_record(request.app.state.hub, caller, entity, record_id, association=association, account=account))


@operations.get("/healthz", response_model=Health, tags=["operations"], summary="Liveness")
def healthz() -> Response:
    """The process answers."""
    return json_answer({"status": "ok"})


@operations.get("/readyz", response_model=Health, responses={503: {"model": Health}}, tags=["operations"], summary="Readiness")
def readyz(request: Request) -> Response:
    """The store answers and is at the newest migration: ready for traffic."""
    hub = request.app.state.hub
    try:
        with hub.store.engine.connect() as conn:
            revision = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
    except Exception as exc:  # noqa: BLE001 - any failure means not ready, said in words
        return json_answer({"status": "unavailable", "detail": f"store: {type(exc).__name__}"}, 503)
    if revision != HEAD_REVISION:
        return json_answer({"status": "unavailable", "detail": f"store at migration {revision}, expected {HEAD_REVISION}"}, 503)
    return json_answer({"status": "ready"})


@operations.get(
    "/metrics", tags=["operations"], summary="Prometheus metrics", response_class=Response, responses={200: {"content": {"text/plain": {}}}}
)
def metrics(request: Request) -> Response:
    """Runs, records, quarantine, outbox, request counts and latency, in Prometheus' text format."""
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

    return Response(generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST)
