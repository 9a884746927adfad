"""Error answers as RFC 9457 problem documents: one shape for every refusal the API makes.

``{"type": "about:blank", "title": "Payload Too Large", "status": 413, "detail": "...",
"errors": [{"path", "rule", "message"}]}``: the status in words, what was wrong in a sentence
a person can act on, and the field-level errors a program can act on. Never a traceback.
"""

from __future__ import annotations

import logging
from http import HTTPStatus

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException
from starlette.responses import Response

from hub.errors import HubError, NotFoundError, StoreError
from hub.schema import load_schema
from hub.secrets import redactor
from hub.services.ingest import ApiProblem

__all__ = ["install", "problem"]

log = logging.getLogger("hub.api")
MEDIA_TYPE = "application/problem+json"


def problem(status: int, detail: str, errors: list[dict] | None = None, headers: dict | None = None) -> Response:
    """A problem document response."""
    body = {"type": "about:blank", "title": HTTPStatus(status).phrase, "status": status, "detail": redactor.redact(detail)}
    if errors:
        body["errors"] = errors
    return Response(orjson.dumps(body), status_code=status, media_type=MEDIA_TYPE, headers=headers)


def _expected_by_pattern() -> dict[str, str]:
    """The common schema's words for each pattern a query parameter takes from it (``x-expected``)."""
    defs = load_schema("bank_transaction")["$defs"]
    return {d["pattern"]: d["x-expected"] for d in defs.values() if "pattern" in d and "x-expected" in d}


_EXPECTED = _expected_by_pattern()


def _parameter_error(e: dict) -> dict:
    """One of FastAPI's validation errors as ``{path, rule, message}``, a pattern's in the schema's words.

    ``?governorate=SY99`` was answered "String should match pattern '^SY(0[1-9]|1[0-4])$'":
    true, and a regular expression to decode; the schema says what it means.
    """
    path = ".".join(str(p) for p in e.get("loc", ()) if p not in ("query", "path", "header", "body"))
    message = e.get("msg", "")
    expected = _EXPECTED.get((e.get("ctx") or {}).get("pattern", ""))
    if e.get("type") == "string_pattern_mismatch" and expected:
        message = f"{e.get('input')!r} is not {expected}" if expected.startswith("a ") else f"{e.get('input')!r}: expected {expected}"
    return {"path": path, "rule": e.get("type", ""), "message": message}


def install(app: FastAPI) -> None:
    """Route every error the API can meet to a problem document."""

    @app.exception_handler(ApiProblem)
    async def _api_problem(_request: Request, exc: ApiProblem) -> Response:
        return problem(exc.status, exc.message, exc.errors, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> Response:
        errors = [_parameter_error(e) for e in exc.errors()]
        # The sentence names the first wrong parameter: a person reads the detail, not the list.
        first = f": {errors[0]['path']}: {errors[0]['message']}" if errors else ""
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        return problem(422, f"the request's parameters are not valid{first}{more}", errors)

    @app.exception_handler(HTTPException)
    async def _http(_request: Request, exc: HTTPException) -> Response:
        return problem(exc.status_code, str(exc.detail), headers=getattr(exc, "headers", None))

    @app.exception_handler(NotFoundError)
    async def _not_found(_request: Request, exc: NotFoundError) -> Response:
        return problem(404, str(exc))

    @app.exception_handler(StoreError)
    async def _store(_request: Request, exc: StoreError) -> Response:
        log.error("store unavailable: %s", exc)
        return problem(503, "the store is not available; try again shortly", headers={"Retry-After": "5"})

    @app.exception_handler(OperationalError)
    async def _store_away(_request: Request, exc: OperationalError) -> Response:
        # The database refused or dropped the connection, or stayed locked past the busy
        # timeout: the request was not applied, and a retry after a while will be.
        first_line = (str(exc.orig or exc).strip().splitlines() or [type(exc.orig or exc).__name__])[0]
        log.error("store unavailable: %s", redactor.redact(first_line))
        return problem(503, "the store is not available; try again shortly", headers={"Retry-After": "5"})

    @app.exception_handler(HubError)
    async def _hub(_request: Request, exc: HubError) -> Response:
        return problem(400, str(exc))

    @app.exception_handler(Exception)
    async def _bug(_request: Request, exc: Exception) -> Response:
        log.exception("internal error")
        return problem(500, f"internal error ({type(exc).__name__}); the hub's log has the details")
