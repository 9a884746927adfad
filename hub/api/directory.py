"""The public directory, ``/api/v1/public/...``: for donors and coordination, without a token.

A platform's website or app lists associations by governorate, sector and name, shows one
association's account, lists the programs still open with their targets
(hub.services.directory), and offers the 3W of every association's distributions
(hub.services.threew) and every program as an IATI activity (hub.services.iati). Off unless
``api.public_directory`` is true: then 404, saying so. ``api.rate_limit`` holds here per client address, as it holds
per token elsewhere. Answers may be cached for a minute (``Cache-Control``): the figures are
sums, and a page a donor reloads need not cost a pass over the records each time.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from starlette.responses import Response

from hub.api.answers import csv_answer, json_answer, problem_answers, xml_answer
from hub.api.auth import within_rate
from hub.api.models import DirectoryAssociation, DirectoryPage, ProgramPage
from hub.api.report import IATI_ANSWER, THREE_W_ANSWER, HeaderLanguage
from hub.api.routes import IDENTIFIER, FromQuery, GovernorateQuery, SectorQuery, ToQuery, known_sector, only_known_query
from hub.services import browse
from hub.services.directory import PUBLIC_READER, Directory
from hub.services.directory import Query as DirectoryQuery
from hub.services.iati import iati_xml
from hub.services.threew import three_w_csv

__all__ = ["public"]

_CACHED = {"Cache-Control": "public, max-age=60"}
PublicLimit = Annotated[int, Query(ge=1, le=500, description="How many a page holds")]


def _directory_of(request: Request) -> Directory:
    return request.app.state.directory


def _by_address(request: Request) -> None:
    address = request.client.host if request.client else "unknown"
    within_rate(request, f"client:{address}", f"client {address}")


# Included before hub.api.routes' router, whose /api/v1/{entity}/{record_id} would take the path.
public = APIRouter(dependencies=[Depends(only_known_query), Depends(_by_address)], tags=["public directory"])


@public.get(
    "/api/v1/public/associations",
    response_model=DirectoryPage,
    responses=problem_answers(404, 422, 429, 503),
    summary="Associations, by governorate, sector and name, with their totals",
)
def list_associations(
    request: Request,
    governorate: GovernorateQuery = None,
    sector: SectorQuery = None,
    name: Annotated[str | None, Query(min_length=1, max_length=200, description="A part of its Arabic or English name")] = None,
    after: Annotated[str | None, Query(**IDENTIFIER, description="next of the previous page")] = None,
    limit: PublicLimit = 50,
) -> Response:
    """Active associations in id order, each with what it says of itself and the totals of its account.

    Without a token: a platform publishes this for donors (``api.public_directory``). Never a
    donation, a donor or a bank account: only the association's own public words and sums.
    """
    known_sector(sector)
    query = DirectoryQuery(governorate, sector, name, after, limit)
    return json_answer(_directory_of(request).associations(request.app.state.hub, query), headers=_CACHED)


@public.get(
    "/api/v1/public/associations/{association_id}",
    response_model=DirectoryAssociation,
    responses=problem_answers(404, 422, 429, 503),
    summary="One association and its account",
)
def get_association(request: Request, association_id: Annotated[str, Path(**IDENTIFIER)]) -> Response:
    """What the association says of itself and where its money came from and what aid it became, whatever its status."""
    return json_answer(_directory_of(request).association(request.app.state.hub, association_id), headers=_CACHED)


@public.get(
    "/api/v1/public/programs",
    response_model=ProgramPage,
    responses=problem_answers(404, 422, 429, 503),
    summary="Programs a donor can still give to, by governorate, sector, association and title, with their targets",
)
def list_programs(
    request: Request,
    governorate: GovernorateQuery = None,
    sector: SectorQuery = None,
    association: Annotated[str | None, Query(**IDENTIFIER, description="Of this association")] = None,
    name: Annotated[str | None, Query(min_length=1, max_length=200, description="A part of its Arabic or English title")] = None,
    after: Annotated[str | None, Query(max_length=400, description="next of the previous page")] = None,
    limit: PublicLimit = 50,
) -> Response:
    """Programs in the pipeline or under way, of active associations, in key order.

    Each with its own public words, its association's names, its target and what it has been
    given, has received and has delivered so far (per currency and epoch).
    """
    known_sector(sector)
    query = DirectoryQuery(governorate, sector, name, after, limit, association)
    return json_answer(_directory_of(request).programs(request.app.state.hub, query), headers=_CACHED)


@public.get(
    "/api/v1/public/3w.csv",
    response_class=Response,
    responses={**THREE_W_ANSWER, **problem_answers(404, 422, 429, 503)},
    summary="Who does what where: every association's distributions by sector, governorate, district and month, HXL-tagged",
)
def get_three_w(
    request: Request,
    association: Annotated[str | None, Query(**IDENTIFIER, description="One association")] = None,
    date_from: FromQuery = None,
    date_to: ToQuery = None,
    lang: HeaderLanguage = "en",
) -> Response:
    """The platform's 3W, as OCHA's clusters and HDX read it: CSV with HXL hashtags under the headers.

    Sums and counts per association, sector, governorate, district and month; never a beneficiary,
    a donor or an account.
    """
    hub = request.app.state.hub
    Directory.open(hub)
    text = three_w_csv(hub, PUBLIC_READER, browse.Filters(association, None, None, date_from, date_to), lang)
    return csv_answer(text, "3w.csv", headers=_CACHED)


@public.get(
    "/api/v1/public/iati.xml",
    response_class=Response,
    responses={**IATI_ANSWER, **problem_answers(404, 422, 429, 503)},
    summary="Every association's programs as IATI activities (2.03 XML), their donations and distributions by month",
)
def get_iati(
    request: Request,
    association: Annotated[str | None, Query(**IDENTIFIER, description="One association")] = None,
    date_from: FromQuery = None,
    date_to: ToQuery = None,
) -> Response:
    """The platform's IATI activities file, for funders' tools and the public: sums per month, never a donor."""
    hub = request.app.state.hub
    Directory.open(hub)
    return xml_answer(
        iati_xml(hub, PUBLIC_READER, browse.Filters(association, None, None, date_from, date_to)), "iati-activities.xml", _CACHED
    )
