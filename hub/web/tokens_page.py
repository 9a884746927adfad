"""The web admin's API tokens page: platform staff issue, list and revoke tokens.

A new association joins the platform: someone of the platform's staff gives its hub a token,
without a shell on the server. The page does what ``hub tokens`` does, through the same
service (audited as ``web:<e-mail>``). The secret shows once, on the answer to the form that
made it, never stored or shown again; that answer is not cached. Association staff do not
see this page: a token of theirs would be for the platform to give.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Request
from starlette.concurrency import run_in_threadpool

from hub.errors import ConfigError, NotFoundError
from hub.services import tokens, users
from hub.web.session import check_csrf, current_user
from hub.web.views import Csrf, RowId, back, render

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
Field = Annotated[str, Form()]
Box = Annotated[str | None, Form()]  # a checkbox: sent when ticked, absent when not


def _platform_staff(request: Request) -> users.User:
    user = current_user(request)
    if not user.is_platform:
        raise NotFoundError("tokens are the platform's to give")
    return user


def _page(request: Request, user: users.User, *, http_status: int = 200, created: dict | None = None, problem=None, form=None):
    page = render(
        request,
        "tokens.html",
        user,
        http_status=http_status,
        tokens=tokens.list_tokens(request.app.state.hub),
        created=created,
        problem=problem,
        form=form or {"scope": "association", "read": True},
    )
    page.headers["Cache-Control"] = "no-store"  # the one answer that carries a secret must not be kept
    return page


@router.get("/tokens")
def tokens_page(request: Request):
    return _page(request, _platform_staff(request))


@router.post("/tokens")
async def token_create(
    request: Request,
    name: Field,
    scope: Field,
    association: Field = "",
    expires_in: Field = "",
    read: Box = None,
    write: Box = None,
    csrf: Csrf = None,
):
    user = _platform_staff(request)
    check_csrf(user.csrf, csrf)
    form = {"name": name, "scope": scope, "association": association, "expires_in": expires_in, "read": bool(read), "write": bool(write)}
    try:
        if scope not in ("association", "platform"):
            raise ConfigError("choose one association or the platform")
        days = expires_in.strip()
        if days and not (days.isdigit() and 1 <= int(days) <= tokens.MAX_LIFETIME.days):
            raise ConfigError(f"expires in {days!r} days: give a whole number of days, 1 to {tokens.MAX_LIFETIME.days}, or leave it empty")
        created = await run_in_threadpool(
            lambda: tokens.create(
                request.app.state.hub,
                name.strip(),
                association=association if scope == "association" else None,
                platform=scope == "platform",
                read=bool(read),
                write=bool(write),
                expires_in=timedelta(days=int(days)) if days else None,
                actor=user.actor,
            )
        )
    except ConfigError as exc:
        return _page(request, user, http_status=422, problem=str(exc), form=form)
    created["unknown_association"] = await run_in_threadpool(tokens.unknown_association, request.app.state.hub, created["association_id"])
    return _page(request, user, created=created)


@router.post("/tokens/{token_id}/revoke")
def token_revoke(request: Request, token_id: RowId, csrf: Csrf = None):
    user = _platform_staff(request)
    check_csrf(user.csrf, csrf)
    tokens.revoke(request.app.state.hub, token_id, actor=user.actor)
    return back("/tokens", msg="revoked")
