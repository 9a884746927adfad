"""The web admin's account page: where the money came from and what aid it became.

The figures of ``GET /api/v1/report`` (hub.services.report) for a person: an association's staff
see their association's account, platform staff any association's or all of them. Statuses,
channels, sectors and governorates are named in the page's language; amounts keep their unit,
old Syrian pounds apart from new ones.
"""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Request

from hub.api.answers import csv_answer, xml_answer
from hub.errors import HubError
from hub.places import GOVERNORATES
from hub.schema import sector_crosswalk
from hub.services import browse, report
from hub.services.iati import iati_xml
from hub.services.threew import three_w_csv
from hub.web.i18n import translate
from hub.web.session import current_user
from hub.web.views import as_principal, form_day, page_lang, render

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
_PLACES = {code: {"en": en, "ar": ar} for code, en, ar, _iso, _also in GOVERNORATES}


def _named(field: str, value: str, lang: str) -> str:
    """A group's value as a person reads it: a sector's or governorate's name, a status in words."""
    if field == "sector":
        entry = sector_crosswalk().get(value)
        return entry[lang] if entry else value
    if field == "governorate":
        names = _PLACES.get(value)
        return f"{names[lang]} ({value})" if names else value
    if field == "association_id":
        return value
    return translate(value, lang)


def _filters(user, association: str, program: str, date_from: str, date_to: str) -> browse.Filters:
    """The page's filters; an association's staff see their own association whatever the address says."""
    return browse.Filters(
        association or None if user.is_platform else None, None, None, form_day(date_from), form_day(date_to), program or None
    )


@router.get("/account")
def account_page(request: Request, association: str = "", program: str = "", date_from: str = "", date_to: str = ""):
    user = current_user(request)
    lang = page_lang(request)
    query = {"association": association, "program": program, "date_from": date_from, "date_to": date_to}
    filters = _filters(user, association, program, date_from, date_to)
    problem, account = None, None
    try:
        account = report.account(request.app.state.hub, as_principal(user), filters)
    except HubError as exc:
        problem = str(exc)

    def rows(side: str, groups: dict[str, str]) -> list[tuple[str, dict]]:
        if account is None:
            return []
        return [
            (translate("All", lang) if field is None else _named(field, value, lang), row)
            for field, value, row in report.lines(account[side], groups)
        ]

    return render(
        request,
        "account.html",
        user,
        account=account,
        money_rows=rows("money_in", report.MONEY_GROUPS),
        aid_rows=rows("aid_out", report.AID_GROUPS),
        problem=problem,
        query=query,
        query_string=urlencode({k: v for k, v in query.items() if v}),
    )


@router.get("/account/3w.csv")
def three_w_download(request: Request, association: str = "", program: str = "", date_from: str = "", date_to: str = ""):
    """The distributions of the page's filters as the 3W (who does what where), HXL-tagged, for Excel or HDX."""
    user = current_user(request)
    filters = _filters(user, association, program, date_from, date_to)
    text = three_w_csv(request.app.state.hub, as_principal(user), filters, page_lang(request))  # headers in the page's language
    return csv_answer(text, "3w.csv", bom=True)  # a person opens it, in Excel


@router.get("/account/iati.xml")
def iati_download(request: Request, association: str = "", program: str = "", date_from: str = "", date_to: str = ""):
    """The programs of the page's filters as IATI activities, for a funder's tools; a page saying why when there is none."""
    user = current_user(request)
    filters = _filters(user, association, program, date_from, date_to)
    return xml_answer(iati_xml(request.app.state.hub, as_principal(user), filters), "iati-activities.xml")
