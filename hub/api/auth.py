"""Who is calling: ``Authorization: Bearer <token>`` resolved to a token's scope and rights."""

from __future__ import annotations

import math
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from hub.api.access import note_caller
from hub.services import tokens
from hub.services.ingest import ApiProblem

__all__ = ["principal", "within_rate"]

_bearer = HTTPBearer(auto_error=False, description="A token from `hub tokens create`")


def principal(request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> tokens.Principal:
    """The caller's principal; 401 when the token is missing, unknown, revoked or expired, 429 when over its rate."""
    if credentials is None or not credentials.credentials:
        raise _unauthorized("send the token as 'Authorization: Bearer <token>'")
    hub = request.app.state.hub
    found = tokens.authenticate(hub, credentials.credentials)
    if found is None:
        raise _unauthorized(tokens.why_refused(hub, credentials.credentials))
    note_caller(request, found.name)
    within_rate(request, found.token_id, f"token {found.name!r}")
    return found


def within_rate(request: Request, caller: int | str, who: str) -> None:
    """429 with Retry-After when ``caller`` (a token's id, a client's address) is over ``api.rate_limit``."""
    limit = request.app.state.hub.config.api.get("rate_limit")
    if not limit:
        return
    per_second = float(limit["per_second"])
    wait = request.app.state.rate_buckets.take(caller, per_second, int(limit.get("burst") or math.ceil(per_second)))
    if wait:
        raise ApiProblem(
            429,
            f"{who} sent more than {per_second:g} requests a second (api.rate_limit); try again in {wait:.1f} s",
            headers={"Retry-After": str(math.ceil(wait))},
        )


def _unauthorized(message: str) -> ApiProblem:
    return ApiProblem(401, message, headers={"WWW-Authenticate": "Bearer"})
