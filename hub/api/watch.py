"""The API for watching runs: what each connection did and does, and a run asked for now.

For scripts and monitors that do not read a web page: an association's IT staff checking
that last night's sync ran, a platform dashboard listing failures, a job that drops a file
and asks for its run. A token sees what a web admin user of its scope sees
(hub.services.admin): an association's token the connections configured with its
association and their runs, a platform token every connection and the hub's jobs. Reading
needs the read right; asking for a run, the write right. Someone else's connection or run is
a 404, as if it did not exist.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from starlette.responses import Response

from hub.api.answers import json_answer, problem_answers
from hub.api.auth import principal
from hub.api.models import Connections, RunDetail, RunRequested, Runs
from hub.api.routes import MAX_CURSOR, only_known_query
from hub.config import config_schema
from hub.services import admin
from hub.services.ingest import ApiProblem
from hub.services.status import connection_status
from hub.services.tokens import Principal
from hub.store.runs import STATUSES

__all__ = ["watching"]

# Included before hub.api.routes' router, whose /api/v1/{entity} would take these paths.
watching = APIRouter(dependencies=[Depends(only_known_query)], tags=["runs"])
Caller = Annotated[Principal, Depends(principal)]
# A connection's name as hub.yaml allows it; runs are also a hub job's (job:reconcile).
_CONNECTION = config_schema()["properties"]["connections"]["propertyNames"]["pattern"]
_NAME = _CONNECTION.replace("^", "^(job:)?", 1)
ConnectionName = Annotated[str, Path(pattern=_CONNECTION, description="A connection's name in hub.yaml")]


def _reader(caller: Principal) -> Principal:
    if not caller.can_read:
        raise ApiProblem(403, f"token {caller.name!r} has no read right")
    return caller


def _shown(run: dict | None, caller: Principal) -> dict | None:
    """A run as the token may see it: which machine ran it is the platform's business."""
    if run is None or caller.is_platform:
        return run
    return {k: v for k, v in run.items() if k != "worker"}


@watching.get(
    "/api/v1/runs",
    response_model=Runs,
    responses=problem_answers(401, 403, 404, 422, 429, 503),
    summary="Runs, newest first",
)
def get_runs(
    request: Request,
    caller: Caller,
    connection: Annotated[str | None, Query(pattern=_NAME, description="Only this connection's (or job:NAME's) runs")] = None,
    status: Annotated[str | None, Query(json_schema_extra={"enum": list(STATUSES)}, description="Only runs that ended so")] = None,
    before: Annotated[int | None, Query(ge=1, le=MAX_CURSOR, description="next_before of the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> Response:
    """The runs of the connections this token may see; ``status=failed`` for what needs a look."""
    hub = request.app.state.hub
    _reader(caller)
    if status is not None and status not in STATUSES:
        raise ApiProblem(
            422,
            f"status {status!r} is not a run status",
            errors=[{"path": "status", "rule": "enum", "message": f"one of {', '.join(STATUSES)}"}],
        )
    if connection is not None and connection not in admin.visible_connections(hub, caller):
        raise ApiProblem(404, f"no connection {connection!r}")
    runs = admin.runs_list(hub, caller, connection=connection, status=status, limit=limit, before=before)
    return json_answer({"runs": [_shown(r, caller) for r in runs], "next_before": runs[-1]["id"] if len(runs) == limit else None})


@watching.get(
    "/api/v1/runs/{run_id}",
    response_model=RunDetail,
    responses=problem_answers(401, 403, 404, 422, 429, 503),
    summary="One run, and what it quarantined",
)
def get_run(request: Request, caller: Caller, run_id: Annotated[int, Path(ge=1, le=MAX_CURSOR)]) -> Response:
    """A run's counts, times, notes and error, with the records it quarantined (the first 200)."""
    return json_answer(_shown(admin.run_for(request.app.state.hub, _reader(caller), run_id), caller))


@watching.get(
    "/api/v1/connections",
    response_model=Connections,
    responses=problem_answers(401, 403, 422, 429, 503),
    summary="What each connection runs, ran and waits to send",
)
def get_connections(request: Request, caller: Caller) -> Response:
    """As ``hub status --json``: schedule, next slot, running runs, last run, skipped slots, last failure, outbox."""
    hub = request.app.state.hub
    rows = connection_status(hub, admin.visible_connections(hub, _reader(caller)))
    for row in rows:
        for key in ("last_run", "skipped", "last_failure"):
            row[key] = _shown(row[key], caller)
    return json_answer({"connections": rows})


@watching.post(
    "/api/v1/connections/{name}/run",
    status_code=202,
    response_model=RunRequested,
    responses=problem_answers(401, 403, 404, 409, 422, 429, 503),
    summary="Ask for a run now",
)
def post_run(request: Request, caller: Caller, name: ConnectionName) -> Response:
    """Ask this hub's scheduler to run the connection now (as ``hub schedule trigger``); 409 while it runs.

    The run starts within seconds; ``GET /api/v1/runs?connection=NAME`` shows it, with the
    ``scheduled_for`` of this answer. It is in the audit log under the token's name.
    """
    if not caller.can_write:
        raise ApiProblem(403, f"token {caller.name!r} has no write right")
    slot = admin.request_run(request.app.state.hub, caller, name)
    if slot is None:
        raise ApiProblem(
            409,
            f"{name} is running now; the run going on reads what a new one would",
            errors=[{"path": "name", "rule": "busy", "message": "GET /api/v1/runs?connection=NAME&status=running shows it"}],
        )
    return json_answer({"connection": name, "requested": True, "scheduled_for": slot.isoformat()}, 202)
