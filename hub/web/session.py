"""Who is signed in, and the checks every form goes through (CSRF, same origin)."""

from __future__ import annotations

import hmac
import secrets

from fastapi import Request

from hub.api.access import note_caller
from hub.services import users

__all__ = ["COOKIE", "LOGIN_COOKIE", "NeedsLogin", "check_csrf", "current_user", "new_login_token", "set_cookie"]

COOKIE = "wasl_session"
LOGIN_COOKIE = "wasl_login"  # double-submit token of the sign-in form (there is no session yet)
LANG_COOKIE = "wasl_lang"


class NeedsLogin(Exception):
    """No live session: the page answers with a redirect to the sign-in form."""


class BadForm(Exception):
    """A form without the right CSRF token: refused with 403, nothing done."""


def current_user(request: Request) -> users.User:
    """The signed-in user, or NeedsLogin."""
    user = users.session_user(request.app.state.hub, request.cookies.get(COOKIE))
    if user is None:
        raise NeedsLogin
    note_caller(request, user.actor)
    return user


def check_csrf(expected: str, given: str | None) -> None:
    """BadForm unless the form echoed the token (constant-time comparison)."""
    if not expected or not given or not hmac.compare_digest(expected, given):
        raise BadForm


def new_login_token() -> str:
    """A fresh token for the sign-in form and its cookie."""
    return secrets.token_urlsafe(24)


def set_cookie(request: Request, response, name: str, value: str, *, max_age: int | None = None) -> None:
    """HttpOnly, SameSite=Lax, and Secure whenever the page came over HTTPS."""
    response.set_cookie(name, value, max_age=max_age, httponly=True, samesite="lax", secure=request.url.scheme == "https", path="/")
