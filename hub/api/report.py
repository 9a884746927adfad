"""The account an association gives: ``GET /api/v1/report``, where its money came from and what aid it became.

For a donor's or a journalist's dashboard fed by the platform, and for an association that
publishes its own figures: the sums of hub.services.report, within the token's scope (an
association's token gets its association's account; a platform token any association's, or
all of them together, line by line).
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response

from hub.api.answers import csv_answer, json_answer, problem_answers, xml_answer
from hub.api.auth import principal
from hub.api.models import Report
from hub.api.routes import IDENTIFIER, FromQuery, ToQuery, only_known_query
from hub.services import browse, report
from hub.services.iati import iati_xml
from hub.services.threew import three_w_csv
from hub.services.tokens import Principal

__all__ = ["IATI_ANSWER", "THREE_W_ANSWER", "HeaderLanguage", "reporting"]

# Included before hub.api.routes' router, whose /api/v1/{entity} would take the path.
reporting = APIRouter(dependencies=[Depends(only_known_query)], tags=["reading"])
AssociationScope = Annotated[str | None, Query(**IDENTIFIER, description="One association (an association's token: its own)")]


@reporting.get(
    "/api/v1/report",
    response_model=Report,
    responses=problem_answers(401, 403, 422, 429, 503),
    summary="Where the money came from and what aid it became",
)
def get_report(
    request: Request,
    caller: Annotated[Principal, Depends(principal)],
    association: AssociationScope = None,
    program: Annotated[str | None, Query(**IDENTIFIER, description="One program's donations and distributions")] = None,
    date_from: FromQuery = None,
    date_to: ToQuery = None,
) -> Response:
    """Donations and distributions added up, overall, by group and per program.

    Donations: given, received; by status, channel and association. Distributions: households,
    people and value; by sector, governorate and association. Amounts are decimal strings per
    currency; a redenominated currency's amounts from before the change are a unit of their own
    (``SYP before 2026-01-01``).
    """
    filters = browse.Filters(association, None, None, date_from, date_to, program)
    return json_answer(report.account(request.app.state.hub, caller, filters))


HeaderLanguage = Annotated[Literal["en", "ar"], Query(description="The headers' language; the HXL hashtags are the same")]
THREE_W_ANSWER = {200: {"content": {"text/csv": {}}, "description": "The 3W, HXL-tagged"}}
IATI_ANSWER = {200: {"content": {"application/xml": {}}, "description": "IATI Activity Standard 2.03: one iati-activity per program"}}


@reporting.get(
    "/api/v1/report/3w.csv",
    response_class=Response,
    responses={**THREE_W_ANSWER, **problem_answers(401, 403, 422, 429, 503)},
    summary="Who does what where: the distributions by association, sector, governorate, district and month, HXL-tagged",
)
def get_three_w(
    request: Request,
    caller: Annotated[Principal, Depends(principal)],
    association: AssociationScope = None,
    program: Annotated[str | None, Query(**IDENTIFIER, description="One program's distributions")] = None,
    date_from: FromQuery = None,
    date_to: ToQuery = None,
    lang: HeaderLanguage = "en",
) -> Response:
    """The 3W of the distributions within the token's scope, as CSV with HXL hashtags under the headers.

    One row per association, sector, governorate, district and month: distributions,
    households and people reached, and their value per currency (and per epoch of a
    redenominated one).
    """
    filters = browse.Filters(association, None, None, date_from, date_to, program)
    return csv_answer(three_w_csv(request.app.state.hub, caller, filters, lang), "3w.csv")


@reporting.get(
    "/api/v1/report/iati.xml",
    response_class=Response,
    responses={**IATI_ANSWER, **problem_answers(401, 403, 404, 422, 429, 503)},
    summary="The programs as IATI activities (2.03 XML), their donations and distributions added up by month",
)
def get_iati(
    request: Request,
    caller: Annotated[Principal, Depends(principal)],
    association: AssociationScope = None,
    program: Annotated[str | None, Query(**IDENTIFIER, description="One program")] = None,
    date_from: FromQuery = None,
    date_to: ToQuery = None,
) -> Response:
    """The stored programs within the token's scope as an IATI activities file, for funders' tools.

    Transactions per month, currency and epoch of the redenominated pound: 13 what donors
    pledged and is still a pledge, 1 what came in, 4 the value of the aid delivered; never a
    donor. 404 when no stored program can be published (the IATI schema wants one at least).
    """
    filters = browse.Filters(association, None, None, date_from, date_to, program)
    return xml_answer(iati_xml(request.app.state.hub, caller, filters), "iati-activities.xml")
