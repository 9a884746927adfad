"""The programs as IATI activities (IATI Activity Standard 2.03 XML), the form funders' tools read.

Funders, country portals and the public read aid data published to the IATI standard with
tools of their own (d-portal, the IATI Datastore). The platform holds what such a file says,
for every association: each stored program is an ``iati-activity`` of its association (the
reporting and implementing organisation), with its titles and description as written, Arabic
first (the activity's language) and English beside it, its status, its dates, Syria and the
governorates it names, its sector (OECD DAC purpose code, vocabulary 1, by the crosswalk; and
the platform's own code, vocabulary 99), its target as a budget, and its transactions.

Transactions are the program's donations and distributions added up per month, never one per
donor: type 13 (incoming pledge) what donors pledged and is still a pledge, type 1 (incoming
funds) what came in, type 4 (expenditure) what the aid delivered was worth. Each sum holds
one currency and, for the redenominated pound, one epoch: IATI writes a value in its ISO
currency with the date its value holds on (``value-date``), so 250,000 old pounds of 2025 and
2,500 new pounds of 2026 are two transactions, each dated in its own epoch.

Records that name no program are no activity's (the account and the 3W count them); a
program named by records but not stored, or with no date at all, is left out and said so.
An association's identifier is ``{registration_agency}-{registration_number}`` when the config
names the agency (``iati.registration_agency``, its org-id.guide code), else the platform's id.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from sqlalchemy import and_, select

from hub.app import Hub
from hub.places import GOVERNORATES
from hub.reconcile.convert import settings_from
from hub.schema import sector_crosswalk
from hub.services import browse
from hub.services.ingest import ApiProblem
from hub.services.report import aid_fact, gift_fact, readable, record_day
from hub.services.tokens import Principal
from hub.store.models import records_table
from hub.store.types import utcnow

__all__ = ["IatiFile", "iati_activities", "iati_xml"]

_r = records_table
_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
VERSION = "2.03"
# The program schema's statuses, in IATI ActivityStatus order (1 pipeline/identification .. 6 suspended).
_STATUS = {"pipeline": "1", "implementation": "2", "finalisation": "3", "closed": "4", "cancelled": "5", "suspended": "6"}
_ENDED = ("finalisation", "closed", "cancelled")
_PLACE = {code: (en, ar) for code, en, ar, _iso, _other in GOVERNORATES}
_PLEDGE, _INCOMING, _EXPENDITURE = "13", "1", "4"
# What each transaction of a month says it adds up, in English and in Arabic.
_SAYS = {
    _PLEDGE: ("Donations pledged and not yet received", "تبرعات متعهد بها لم تصل بعد"),
    _INCOMING: ("Donations received", "تبرعات واصلة"),
    _EXPENDITURE: ("Value of the aid distributed", "قيمة المساعدات الموزعة"),
}


@dataclass
class IatiFile:
    """The XML document, how many activities it holds, and the programs left out with why."""

    xml: bytes
    activities: int
    left_out: list[str] = field(default_factory=list)


@dataclass
class _Sum:
    """One transaction: records of one type, month, currency and epoch added up."""

    count: int = 0
    value: Decimal = Decimal(0)
    last: date | None = None

    def add(self, value: Decimal, day: date) -> None:
        self.count += 1
        self.value += value
        self.last = day if self.last is None or day > self.last else self.last


@dataclass
class _Program:
    record: dict | None = None
    updated: datetime | None = None
    # By month, transaction type, currency and unit (a redenominated currency's epoch).
    sums: dict[tuple[str, str, str, str], _Sum] = field(default_factory=lambda: defaultdict(_Sum))
    first: date | None = None

    def touch(self, updated: datetime) -> None:
        self.updated = updated if self.updated is None or updated > self.updated else self.updated

    def add(self, kind: str, currency: object, unit: str | None, value: Decimal | None, day: date | None) -> None:
        if value is None or unit is None or day is None or not isinstance(currency, str):
            return
        self.sums[(day.strftime("%Y-%m"), kind, currency, unit)].add(value, day)
        self.first = day if self.first is None or day < self.first else self.first


def iati_activities(hub: Hub, principal: Principal, filters: browse.Filters) -> IatiFile:
    """The programs ``principal`` may read as an IATI 2.03 activities file; transactions within ``filters``' dates.

    Whether a date is planned or actual is told by the program's status and by today in the
    hub's time zone (at one in the morning in Damascus, UTC's calendar is still on yesterday).
    """
    readable(principal)
    today = utcnow().astimezone(ZoneInfo(hub.config.timezone)).date()
    units = settings_from(hub.config.reconcile)
    agency = (hub.config.iati or {}).get("registration_agency")
    programs: dict[tuple[str, str], _Program] = defaultdict(_Program)
    associations: dict[str, dict] = {}
    undated = browse.Filters(filters.association, None, None, None, None, filters.program)
    dialect = hub.store.dialect

    def rows(entity: str, f: browse.Filters):
        query = select(_r.c.data, _r.c.updated_at).where(and_(*browse.where_clauses(dialect, principal, entity, f))).order_by(_r.c.id)
        for data, updated in conn.execution_options(yield_per=2000).execute(query):
            yield orjson.loads(data), updated

    def program_of(record: dict, updated: datetime) -> _Program | None:
        """The program a donation or distribution names, which it last updated then; None when it names none."""
        if record.get("program_id") is None:
            return None
        program = programs[(record.get("association_id"), record["program_id"])]
        program.touch(updated)
        return program

    with hub.store.reading() as conn:  # one snapshot: the programs and their sums of the same moment
        for a, _updated in rows("association", browse.Filters(filters.association)):
            associations[a.get("id")] = a
        for p, updated in rows("program", undated):
            program = programs[(p.get("association_id"), p.get("id"))]
            program.record = p
            program.touch(updated)
        for d, updated in rows("donation", filters):
            if (program := program_of(d, updated)) is None:
                continue
            unit, given, received = gift_fact(d, units)
            day = record_day(d.get("donated_at"))
            if d.get("status") == "pledged" and given is not None and given > (received or 0):
                program.add(_PLEDGE, d.get("currency"), unit, given - (received or 0), day)  # what is still a pledge
            program.add(_INCOMING, d.get("currency"), unit, received, day)
        for d, updated in rows("distribution", filters):
            if (program := program_of(d, updated)) is None:
                continue
            _people, unit, value = aid_fact(d, units)
            program.add(_EXPENDITURE, d.get("currency"), unit, value, record_day(d.get("distributed_at")))

    root = ET.Element("iati-activities", {"version": VERSION, "generated-datetime": _moment(utcnow())})
    left_out = []
    clusters = sector_crosswalk()
    for (association_id, program_id), program in sorted(programs.items()):
        named = f"program {program_id!r} of {association_id!r}"
        if program.record is None:
            left_out.append(f"{named}: named by donations or distributions, but not stored (no title, no status)")
            continue
        start = record_day(program.record.get("start_date")) or program.first
        if start is None:
            left_out.append(f"{named}: no start date, and no donation or distribution yet")
            continue
        org = associations.get(association_id) or {"id": association_id}
        root.append(_activity(program.record, program, org, _organisation_ref(org, agency), start, today, clusters))
    ET.indent(root)
    return IatiFile(ET.tostring(root, encoding="utf-8", xml_declaration=True), len(root), left_out)


def iati_xml(hub: Hub, principal: Principal, filters: browse.Filters) -> bytes:
    """The activities file for the API; 404 when no program within the scope can be published.

    The IATI schema requires at least one activity: an empty file is not a valid answer.
    """
    found = iati_activities(hub, principal, filters)
    if not found.activities:
        raise ApiProblem(
            404,
            "no stored program to publish as an IATI activity"
            + (f" ({'; '.join(found.left_out[:5])})" if found.left_out else " within this scope"),
        )
    return found.xml


def _organisation_ref(org: dict, agency: str | None) -> str:
    """The association's organisation identifier: the registration agency's code and its number, or the platform's id."""
    number = org.get("registration_number")
    return f"{agency}-{number}" if agency and number else str(org.get("id"))


def _activity(p: dict, program: _Program, org: dict, ref: str, start: date, today: date, clusters: dict) -> ET.Element:
    """One program as an ``iati-activity``, its elements in the order the 2.03 schema requires."""
    attributes = {_LANG: "ar", "last-updated-datetime": _moment(program.updated)}
    if p.get("currency"):
        attributes["default-currency"] = p["currency"]
    activity = ET.Element("iati-activity", attributes)
    ET.SubElement(activity, "iati-identifier").text = f"{ref}-{p['id']}"
    org_type = org.get("org_type") or "22"  # national NGO, as the associations are
    _narratives(
        ET.SubElement(activity, "reporting-org", {"ref": ref, "type": org_type}), org.get("name_ar"), org.get("name_en"), org.get("id")
    )
    _narratives(ET.SubElement(activity, "title"), p.get("title_ar"), p.get("title_en"))
    # The schema requires a description: the program's own words, or its title when it has none.
    description = ET.SubElement(activity, "description", {"type": "1"})
    if p.get("description"):
        _narratives(description, p["description"], None)
    else:
        _narratives(description, p.get("title_ar"), p.get("title_en"))
    _narratives(
        ET.SubElement(activity, "participating-org", {"role": "4", "ref": ref, "type": org_type}),
        org.get("name_ar"),
        org.get("name_en"),
        org.get("id"),
    )
    status = p.get("status")
    ET.SubElement(activity, "activity-status", {"code": _STATUS.get(status, "2")})
    began = start <= today and status != "pipeline"
    ET.SubElement(activity, "activity-date", {"type": "2" if began else "1", "iso-date": start.isoformat()})
    end = record_day(p.get("end_date"))
    if end is not None:
        ended = end <= today and status in _ENDED
        ET.SubElement(activity, "activity-date", {"type": "4" if ended else "3", "iso-date": end.isoformat()})
    ET.SubElement(activity, "recipient-country", {"code": "SY", "percentage": "100"})
    for code in p.get("governorates") or []:
        en, ar = _PLACE.get(code, (code, None))
        location = ET.SubElement(activity, "location", {"ref": code})
        ET.SubElement(location, "location-reach", {"code": "1"})  # the activity happens here
        _narratives(ET.SubElement(location, "name"), ar, en)
        ET.SubElement(location, "exactness", {"code": "1"})
        ET.SubElement(location, "location-class", {"code": "1"})  # an administrative region
        ET.SubElement(location, "feature-designation", {"code": "ADM1"})
    sector = p.get("sector")
    if sector:
        known = clusters.get(sector, {})
        if known.get("dac"):
            ET.SubElement(activity, "sector", {"vocabulary": "1", "code": known["dac"], "percentage": "100"})
        _narratives(
            ET.SubElement(activity, "sector", {"vocabulary": "99", "code": sector, "percentage": "100"}), known.get("ar"), known.get("en")
        )
    end_of_budget = end or _budget_end(start)
    if p.get("target_amount") and p.get("currency"):
        budget = ET.SubElement(activity, "budget", {"type": "1", "status": "1"})
        ET.SubElement(budget, "period-start", {"iso-date": start.isoformat()})
        ET.SubElement(budget, "period-end", {"iso-date": end_of_budget.isoformat()})
        ET.SubElement(budget, "value", {"currency": p["currency"], "value-date": start.isoformat()}).text = format(
            Decimal(p["target_amount"]), "f"
        )
    for (month, kind, currency, _unit), total in sorted(program.sums.items()):
        transaction = ET.SubElement(activity, "transaction")
        ET.SubElement(transaction, "transaction-type", {"code": kind})
        on = total.last.isoformat()
        ET.SubElement(transaction, "transaction-date", {"iso-date": on})
        ET.SubElement(transaction, "value", {"currency": currency, "value-date": on}).text = format(total.value, "f")
        en, ar = _SAYS[kind]
        _narratives(ET.SubElement(transaction, "description"), f"{ar}: {total.count} ({month})", f"{en}: {total.count} ({month})")
    return activity


def _narratives(parent: ET.Element, arabic: Any, english: Any, fallback: Any = None) -> ET.Element:
    """Arabic in the activity's language, English marked ``xml:lang="en"``; ``fallback`` when neither is given."""
    if arabic:
        ET.SubElement(parent, "narrative").text = str(arabic)
    if english:
        ET.SubElement(parent, "narrative", {_LANG: "en"}).text = str(english)
    if not arabic and not english:
        ET.SubElement(parent, "narrative").text = str(fallback or "")
    return parent


def _budget_end(start: date) -> date:
    """A budget without an end date: the end of the year it starts in (IATI budgets cover at most a year)."""
    return date(start.year, 12, 31)


def _moment(value: datetime | None) -> str:
    return (value or utcnow()).isoformat(timespec="seconds")
