"""Who is calling: ``Authorization: Bearer <token>`` resolved to a token's scope and rights."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from hub.services import tokens
from hub.services.ingest import ApiProblem

__all__ = ["principal"]

_bearer = HTTPBearer(auto_error=False, description="A token from `hub tokens create`")


def principal(request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> tokens.Principal:
    """The caller's principal; 401 when the token is missing, unknown, revoked or expired."""
    if credentials is None or not credentials.credentials:
        raise _unauthorized("send the token as 'Authorization: Bearer <token>'")
    found = tokens.authenticate(request.app.state.hub, credentials.credentials)
    if found is None:
        raise _unauthorized(tokens.why_refused(request.app.state.hub, credentials.credentials))
    return found


def _unauthorized(message: str) -> ApiProblem:
    return ApiProblem(401, message, headers={"WWW-Authenticate": "Bearer"})
