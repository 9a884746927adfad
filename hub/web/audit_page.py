"""The web admin's audit log page: platform staff read the hash-chained log and have it checked.

Every write through the API, every token made or revoked and every decision a person took is
an entry of the log (hub.store.audit). The platform's auditors read it here, without a shell
on the server, and ask for the whole chain to be checked, as ``hub audit verify`` does: intact,
with the head to keep elsewhere, or the first entry that was altered or removed. Association
staff do not see it: the entries are every association's.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from hub import exactjson
from hub.errors import NotFoundError
from hub.store import audit
from hub.web.session import current_user
from hub.web.views import render

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
PAGE = 100


@router.get("/audit")
def audit_page(
    request: Request,
    before: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
    verify: Annotated[bool, Query()] = False,
):
    user = current_user(request)
    if not user.is_platform:
        raise NotFoundError("the audit log is the platform's to read")
    with request.app.state.hub.store.engine.connect() as conn:
        rows = audit.entries(conn, limit=PAGE, before=before)
        checked = audit.verify(conn) if verify else None
    for r in rows:
        r["line"] = audit.detail_line(r["detail"])
        r["whole"] = exactjson.dumps(r["detail"], indent=True).decode()
    older = rows[-1]["id"] if len(rows) == PAGE else None
    return render(request, "audit.html", user, rows=rows, older=older, checked=checked, genesis=audit.GENESIS)
