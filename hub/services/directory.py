"""The platform's public directory: which associations work where, in what, and what they account for.

The platform exists so that a donor, inside the country or abroad, can find an association
that works in their governorate or sector and see what it did with what it was given. Tokens
are for hubs and dashboards that an association or the platform runs; a donor has none. So a
platform may publish, without a token (``api: {public_directory: true}``), what associations
say of themselves and the totals of their account:

- each association's own public words: names, registration, head office, the governorates
  it serves, its sectors, website and description, its status. Not its bank accounts (the
  platform confirms where to pay; a directory copying account numbers invites look-alikes),
  nor its ``extra`` fields, whose content the schema does not know;
- the totals of its account (:mod:`hub.services.report`): donations counted and added up per
  currency, distributions with the households and people they reached and their value, by
  sector, governorate and program. Never a donation or a donor: sums and counts only.

The listing shows active associations; one association's page shows any status, so that a
donor who was given the id of a suspended one learns it. Programs are listed while a donor
can still give to them (IATI ``pipeline`` or ``implementation``), of active associations,
with their targets and what they have had. The listings' sums come from one pass over every
donation and distribution, kept until the store's change counter moves.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import and_, select

from hub.app import Hub
from hub.services import browse, report
from hub.services.ingest import ApiProblem
from hub.services.tokens import Principal
from hub.store import changes
from hub.store.models import records_table
from hub.store.record_fields import record_field
from hub.text.arabic import matching_key

__all__ = ["OPEN_PROGRAMS", "PROGRAM_FIELDS", "PUBLIC_FIELDS", "PUBLIC_READER", "Directory", "Query"]

_r = records_table
# What an association says of itself that a donor may read: every field of the schema but
# its bank accounts and its extra fields.
PUBLIC_FIELDS = (
    "id",
    "name_ar",
    "name_en",
    "registration_number",
    "org_type",
    "parent_id",
    "governorate",
    "governorates_served",
    "sectors",
    "website",
    "description",
    "status",
)
PUBLIC_READER = Principal(0, "public directory", None, can_read=True, can_write=False)
_NONE_GIVEN = {"donations": 0, "given": {}, "received": {}}
_NONE_DELIVERED = {"distributions": 0, "households": None, "individuals": None, "value": {}}


# A program's own public words; and the statuses of a program a donor can still give to
# (IATI's "pipeline" and "implementation": not finalised, closed, cancelled or suspended).
PROGRAM_FIELDS = (
    "id",
    "association_id",
    "title_ar",
    "title_en",
    "sector",
    "governorates",
    "status",
    "start_date",
    "end_date",
    "target_amount",
    "currency",
    "description",
)
OPEN_PROGRAMS = ("pipeline", "implementation")
_NO_DISTRIBUTIONS = {"count": 0, "households": None, "individuals": None, "female": None, "male": None, "value": {}}


@dataclass(frozen=True)
class Query:
    """What a donor narrows the directory by: where, in what, a name or title, whose; and which page."""

    governorate: str | None = None
    sector: str | None = None
    name: str | None = None
    after: str | None = None
    limit: int = 50
    association: str | None = None


@dataclass(frozen=True)
class _Snapshot:
    """The sums of one moment of the store: each association's totals, each stored program's account line."""

    stamp: tuple[int, int]
    associations: dict[str, dict]
    programs: dict[tuple[str, str], dict]


def _public(record: dict) -> dict[str, Any]:
    return {field: record.get(field) for field in PUBLIC_FIELDS}


def _named(record: dict, key: str) -> bool:
    """Whether the association's Arabic or English name holds ``key`` (a matching key: أ/ا, ة/ه, case)."""
    return any(key in matching_key(record.get(f) or "") for f in ("name_ar", "name_en"))


def _page(rows, keep: Callable[[dict], bool], limit: int) -> tuple[list[dict], str | None]:
    """Up to ``limit`` records of ``rows`` (key order) that ``keep`` takes, and the key the next page starts after."""
    found: list[tuple[str, dict]] = []
    for row in rows:
        record = orjson.loads(row.data)
        if keep(record):
            found.append((row.key, record))
            if len(found) > limit:
                break
    more = len(found) > limit
    found = found[:limit]
    return [record for _key, record in found], (found[-1][0] if more else None)


def _active(dialect: str, filters: browse.Filters) -> list:
    """The WHERE clauses of the active associations ``filters`` select: the ones a donor is shown."""
    return [*browse.where_clauses(dialect, PUBLIC_READER, "association", filters), record_field(dialect, "status") == "active"]


def _active_associations(conn, dialect: str) -> dict[str, dict]:
    """The active associations' records by id: whose programs a donor may be shown."""
    clauses = _active(dialect, browse.Filters())
    records = (orjson.loads(data) for (data,) in conn.execute(select(_r.c.data).where(and_(*clauses))))
    return {record["id"]: record for record in records}


def _titled(program: dict, key: str) -> bool:
    """Whether the program's Arabic or English title holds ``key`` (a matching key)."""
    return any(key in matching_key(program.get(f) or "") for f in ("title_ar", "title_en"))


class Directory:
    """The public directory of one hub, with the listing's totals kept until a record changes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._kept: _Snapshot | None = None

    @staticmethod
    def open(hub: Hub) -> None:
        """404 unless the hub publishes its directory: off by default, a platform's decision."""
        if not hub.config.api.get("public_directory"):
            raise ApiProblem(404, "this hub publishes no directory (api.public_directory is off in its hub.yaml)")

    def associations(self, hub: Hub, query: Query) -> dict[str, Any]:
        """One page of active associations, in id order, each with its account's totals."""
        self.open(hub)
        clauses = _active(hub.store.dialect, browse.Filters(None, query.governorate, query.sector))
        if query.after is not None:
            clauses.append(_r.c.key > query.after)
        with hub.store.engine.connect() as conn:
            rows = conn.execute(select(_r.c.key, _r.c.data).where(and_(*clauses)).order_by(_r.c.key)).all()
        name = matching_key(query.name) if query.name else None
        found, following = _page(rows, lambda record: not name or _named(record, name), query.limit)
        totals = self._snapshot(hub).associations
        items = [{**_public(r), "totals": totals.get(r.get("id"), {**_NONE_GIVEN, **_NONE_DELIVERED})} for r in found]
        return {"items": items, "next": following}

    def association(self, hub: Hub, association_id: str) -> dict[str, Any]:
        """One association's public words and its whole account, whatever its status."""
        self.open(hub)
        with hub.store.engine.connect() as conn:
            data = conn.execute(
                select(_r.c.data).where(
                    and_(*browse.where_clauses(hub.store.dialect, PUBLIC_READER, "association", browse.Filters())),
                    _r.c.key == association_id,
                )
            ).scalar()
        if data is None:
            raise ApiProblem(404, f"no association {association_id!r} in this directory")
        account = report.account(hub, PUBLIC_READER, browse.Filters(association_id))
        return {**_public(orjson.loads(data)), "account": account}

    def programs(self, hub: Hub, query: Query) -> dict[str, Any]:
        """One page of the programs a donor can still give to, of active associations, each with its target and what it has had."""
        self.open(hub)
        dialect = hub.store.dialect
        filters = browse.Filters(query.association, query.governorate, query.sector)
        clauses = browse.where_clauses(dialect, PUBLIC_READER, "program", filters)
        clauses.append(record_field(dialect, "status").in_(OPEN_PROGRAMS))
        if query.after is not None:
            clauses.append(_r.c.key > query.after)
        with hub.store.engine.connect() as conn:
            active = _active_associations(conn, dialect)
            rows = conn.execute(select(_r.c.key, _r.c.data).where(and_(*clauses)).order_by(_r.c.key)).all()
        name = matching_key(query.name) if query.name else None
        found, following = _page(
            rows, lambda program: program.get("association_id") in active and (not name or _titled(program, name)), query.limit
        )
        lines = self._snapshot(hub).programs
        items = []
        for program in found:
            owner = active[program["association_id"]]
            line = lines.get((program["association_id"], program.get("id")), {})
            items.append(
                {
                    **{field: program.get(field) for field in PROGRAM_FIELDS},
                    "association_name_ar": owner.get("name_ar"),
                    "association_name_en": owner.get("name_en"),
                    "target": line.get("target", {}),
                    "donations": line.get("donations", {"count": 0, "given": {}, "received": {}}),
                    "distributions": line.get("distributions", _NO_DISTRIBUTIONS),
                }
            )
        return {"items": items, "next": following}

    def _snapshot(self, hub: Hub) -> _Snapshot:
        """Every association's totals and every program's line, from one pass over the records.

        Kept until the store's change counter moves: a listing a donor reloads costs a lookup,
        and a push makes the next one add up again.
        """
        with hub.store.engine.connect() as conn:
            stamp = (id(hub), changes.latest(conn))
        with self._lock:
            if self._kept is not None and self._kept.stamp == stamp:
                return self._kept
        account = report.account(hub, PUBLIC_READER, browse.Filters())
        totals: dict[str, dict] = {}
        for line in account["money_in"]["by_association"]:
            totals[line["association_id"]] = {
                "donations": line["count"],
                "given": line["given"],
                "received": line["received"],
                **_NONE_DELIVERED,
            }
        for line in account["aid_out"]["by_association"]:
            given = totals.get(line["association_id"], _NONE_GIVEN)
            totals[line["association_id"]] = {
                **given,
                "distributions": line["count"],
                "households": line["households"],
                "individuals": line["individuals"],
                "value": line["value"],
            }
        programs = {(line["association_id"], line["id"]): line for line in account["programs"] if line["stored"]}
        kept = _Snapshot(stamp, totals, programs)
        with self._lock:
            self._kept = kept
        return kept
