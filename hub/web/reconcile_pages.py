"""The web admin's reconciliation: suggestions reviewed one by one, and the decisions' report."""

from __future__ import annotations

import tempfile
from pathlib import Path

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from hub.errors import NotFoundError
from hub.services import admin
from hub.web.session import check_csrf, current_user
from hub.web.views import ChosenRow, Csrf, RowId, back, render

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


@router.get("/reconcile")
def reconcile_page(request: Request, id: ChosenRow = None):
    user = current_user(request)
    hub = request.app.state.hub
    open_ones, totals = admin.suggestions(hub, user)
    current = admin.match_for(hub, user, id) if id else (admin.match_for(hub, user, open_ones[0]["id"]) if open_ones else None)
    return render(request, "reconcile.html", user, match=current, waiting=len(open_ones), totals=totals)


@router.post("/reconcile/{match_id}/{decision}")
async def reconcile_decide(request: Request, match_id: RowId, decision: str, csrf: Csrf = None):
    user = current_user(request)
    check_csrf(user.csrf, csrf)
    hub = request.app.state.hub
    admin.match_for(hub, user, match_id)
    from hub.reconcile.service import confirm_match, reject_match

    if decision == "confirm":
        await run_in_threadpool(confirm_match, hub, match_id, actor=user.actor)
        return back("/reconcile", msg="confirmed")
    if decision == "reject":
        await run_in_threadpool(lambda: reject_match(hub, match_id, actor=user.actor, reason="rejected in the web admin"))
        return back("/reconcile", msg="rejected")
    raise NotFoundError(f"no decision {decision!r}")


@router.get("/reconcile/report.xlsx")
def reconcile_report(request: Request):
    user = current_user(request)
    hub = request.app.state.hub
    from hub.reconcile.output import write_matches

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "reconciliation.xlsx"
        write_matches(path, admin.decisions(hub, user))
        body = path.read_bytes()
    return Response(
        body,
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": "attachment; filename=reconciliation.xlsx"},
    )
