"""The web admin's records page: records filtered as the API filters them, and a summary by governorate."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Request

from hub.errors import HubError, NotFoundError
from hub.schema import ENTITIES
from hub.services import admin, browse
from hub.web.session import current_user
from hub.web.views import After, as_principal, form_day, render

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


@router.get("/records")
def records_page(
    request: Request,
    entity: str = "donation",
    governorate: str = "",
    sector: str = "",
    date_from: str = "",
    date_to: str = "",
    after: After = 0,
):
    user = current_user(request)
    hub = request.app.state.hub
    if entity not in ENTITIES:
        raise NotFoundError(f"no entity {entity!r}")
    problem, summary = None, []
    filters = browse.Filters(None, governorate or None, sector or None, form_day(date_from), form_day(date_to))
    summarised = entity in browse.GOVERNORATE_FIELDS
    try:
        page = browse.list_records(hub, as_principal(user), entity, filters, after=after, limit=50)
        if summarised and not after:
            # The summary adds up every record the filters select, whichever page is shown: the
            # first page shows it, and the next ones link back to it rather than add it all up again
            # (a second per 200,000 distributions).
            summary = admin.governorate_summary(hub, as_principal(user), entity, filters)
    except HubError as exc:
        page, problem = {"items": [], "next": None}, str(exc)
    query = {"entity": entity, "governorate": governorate, "sector": sector, "date_from": date_from, "date_to": date_to}
    return render(
        request,
        "records.html",
        user,
        entities=ENTITIES,
        entity=entity,
        page=page,
        summary=summary,
        problem=problem,
        query=query,
        next_url="/records?" + urlencode({**query, "after": page["next"]}) if page["next"] else None,
        summary_url="/records?" + urlencode(query) if summarised and after and not problem else None,
    )
