"""Where the money came from and what aid it became: the account an association gives.

The platform exists so that an association can show both sides of its work: the donations it
was given (by status, by channel, what has actually come in) and the aid it delivered
(households and people reached, by sector and governorate, and what it was worth), program by
program. This module adds those up from the stored records, within a reader's scope: an
association's token or user gets its own account, the platform any association's or all of them.

Money is added as Decimal, per currency, and a redenominated currency per epoch
(:meth:`hub.reconcile.model.Settings.unit`): a 2025 pledge of 250,000 old pounds and a 2026 one
of 2,500 new pounds are two lines, ``SYP before 2026-01-01`` and ``SYP``, never one sum that is
neither. Each amount falls in the epoch of its record's own date (donated, distributed, started).

The figures are added up in Python, streaming the records: SQL's SUM over JSON text would add
amounts as floating point numbers.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import orjson
from sqlalchemy import and_, select

from hub.app import Hub
from hub.reconcile.convert import settings_from
from hub.reconcile.model import Settings
from hub.services import browse
from hub.services.ingest import ApiProblem
from hub.services.tokens import Principal
from hub.store.models import records_table
from hub.text.nearest import did_you_mean

__all__ = [
    "AID_GROUPS",
    "GIVEN",
    "MONEY_GROUPS",
    "AidTotals",
    "Money",
    "aid_fact",
    "gift_fact",
    "readable",
    "account",
    "lines",
    "money_text",
    "record_day",
    "unknown_association",
]

_r = records_table
GIVEN = ("pledged", "received")  # a donor's gift, promised or paid; refunded and cancelled ones are not
_PEOPLE = ("households", "individuals", "female", "male")
# The groups each side is added up by: the account's key for the list, and the record field it groups on.
MONEY_GROUPS = {"by_status": "status", "by_channel": "channel", "by_association": "association_id"}
AID_GROUPS = {"by_sector": "sector", "by_governorate": "governorate", "by_association": "association_id"}


def money_text(sums: dict[str, str]) -> str:
    """``{"SYP": "2500000.5", "USD": "150"}`` as a person reads it: ``2,500,000.5 SYP; 150 USD``."""
    return "; ".join(f"{Decimal(amount):,f} {unit}" for unit, amount in sums.items())


def _amounts(sums: dict[str, Decimal]) -> dict[str, str]:
    return {unit: format(total, "f") for unit, total in sorted(sums.items())}


def _unit(units: Settings, currency: object, on: date | None) -> str | None:
    if not isinstance(currency, str):
        return None
    return units.unit(currency, on) if on else currency


def _decimal(amount: object) -> Decimal | None:
    # The schema admits only decimal strings; anything else was not validated here.
    return Decimal(amount) if isinstance(amount, str) and amount else None


class Money:
    """Sums of amounts per unit (a currency, or a redenominated currency's epoch)."""

    __slots__ = ("sums", "units")

    def __init__(self, units: Settings) -> None:
        self.units = units
        self.sums: dict[str, Decimal] = defaultdict(Decimal)

    def add(self, amount: object, currency: object, on: date | None) -> None:
        value, unit = _decimal(amount), _unit(self.units, currency, on)
        if value is not None and unit is not None:
            self.sums[unit] += value

    def as_dict(self) -> dict[str, str]:
        return _amounts(self.sums)


# What one record brings to every group it counts in, worked out once per record (its amounts
# parsed, its unit found), then added to the total, its groups and its program.
GiftFact = tuple[str | None, Decimal | None, Decimal | None]  # unit, given, received
AidFact = tuple[tuple[int | None, ...], str | None, Decimal | None]  # people (as _PEOPLE), unit, value


def gift_fact(d: dict, units: Settings) -> GiftFact:
    status = d.get("status")
    unit = _unit(units, d.get("currency"), record_day(d.get("donated_at")))
    if unit is None or status not in GIVEN:
        return unit, None, None  # refunded or cancelled: counted, not added
    given = _decimal(d.get("amount"))
    # What came in: the part reconciliation matched to the bank, or a received gift's amount
    # (cash handed over has no bank line). A refund gave it back; a cancelled pledge never came.
    matched = _decimal(d.get("received_amount"))
    return unit, given, matched if matched is not None else (given if status == "received" else None)


def aid_fact(d: dict, units: Settings) -> AidFact:
    people = tuple(n if isinstance(n := d.get(k), int) and not isinstance(n, bool) else None for k in _PEOPLE)
    return people, _unit(units, d.get("currency"), record_day(d.get("distributed_at"))), _decimal(d.get("value"))


class _Donations:
    """Donations of one group: how many, what was given, what came in."""

    __slots__ = ("count", "given", "received")

    def __init__(self) -> None:
        self.count = 0
        self.given: dict[str, Decimal] = defaultdict(Decimal)
        self.received: dict[str, Decimal] = defaultdict(Decimal)

    def add(self, gift: GiftFact) -> None:
        unit, given, received = gift
        self.count += 1
        if given is not None:
            self.given[unit] += given
        if received is not None:
            self.received[unit] += received

    def as_dict(self) -> dict[str, Any]:
        return {"count": self.count, "given": _amounts(self.given), "received": _amounts(self.received)}


class AidTotals:
    """Distributions of one group: how many, whom they reached, what they were worth.

    A count no record of the group states (many forms count households, not women and men)
    is null, not 0: nobody was counted, which is not that nobody was reached.
    """

    __slots__ = ("count", "people", "value")

    def __init__(self) -> None:
        self.count = 0
        self.people: list[int | None] = [None] * len(_PEOPLE)
        self.value: dict[str, Decimal] = defaultdict(Decimal)

    def add(self, aid: AidFact) -> None:
        people, unit, value = aid
        self.count += 1
        for i, n in enumerate(people):
            if n is not None:
                self.people[i] = (self.people[i] or 0) + n
        if value is not None and unit is not None:
            self.value[unit] += value

    def as_dict(self) -> dict[str, Any]:
        return {"count": self.count, **dict(zip(_PEOPLE, self.people, strict=True)), "value": _amounts(self.value)}


def record_day(value: object) -> date | None:
    """The calendar date a record's own date or date-time names (in its own UTC offset)."""
    if not isinstance(value, str):
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def _records(conn, hub: Hub, principal: Principal, entity: str, filters: browse.Filters):
    """The records of ``entity`` that the account covers, one decoded record at a time."""
    clauses = browse.where_clauses(hub.store.dialect, principal, entity, filters)
    result = conn.execution_options(yield_per=2000).execute(select(_r.c.data).where(and_(*clauses)).order_by(_r.c.id))
    for (data,) in result:
        yield orjson.loads(data)


class _Grouped:
    """A total, and the same total per value of each of some fields (``{"by_status": "status"}``)."""

    def __init__(self, make: Callable[[], _Donations | AidTotals], fields: dict[str, str]) -> None:
        self.total = make()
        self.fields = fields
        self.groups: dict[str, dict[str, _Donations | AidTotals]] = {name: defaultdict(make) for name in fields}

    def add(self, record: dict, fact: GiftFact | AidFact) -> None:
        self.total.add(fact)
        for name, f in self.fields.items():
            self.groups[name][str(record.get(f))].add(fact)

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.total.as_dict(),
            **{name: [{self.fields[name]: k, **v.as_dict()} for k, v in sorted(g.items())] for name, g in self.groups.items()},
        }


def readable(principal: Principal) -> None:
    """403 unless ``principal`` has the read right: every sum the hub gives checks it here."""
    if not principal.can_read:
        raise ApiProblem(403, f"token {principal.name!r} has no read right")


def account(hub: Hub, principal: Principal, filters: browse.Filters) -> dict[str, Any]:
    """Donations and distributions added up: overall, by status, channel, sector, governorate, association and program.

    ``filters`` narrows by association, program and a date range (donated_at, distributed_at);
    programs are listed whatever their start date, with the donations and distributions in range.
    """
    readable(principal)
    units = settings_from(hub.config.reconcile)
    money_in = _Grouped(_Donations, MONEY_GROUPS)
    aid_out = _Grouped(AidTotals, AID_GROUPS)
    programs: dict[tuple[str | None, str | None], dict[str, Any]] = {}

    def program(association_id: str | None, program_id: str | None) -> dict[str, Any]:
        key = (association_id, program_id)
        if key not in programs:
            programs[key] = {"record": None, "donations": _Donations(), "distributions": AidTotals()}
        return programs[key]

    undated = browse.Filters(filters.association, None, None, None, None, filters.program)
    with hub.store.reading() as conn:  # one snapshot: a push landing meanwhile shows in every part or in none
        for p in _records(conn, hub, principal, "program", undated):
            program(p.get("association_id"), p.get("id"))["record"] = p
        for d in _records(conn, hub, principal, "donation", filters):
            gift = gift_fact(d, units)
            money_in.add(d, gift)
            program(d.get("association_id"), d.get("program_id"))["donations"].add(gift)
        for d in _records(conn, hub, principal, "distribution", filters):
            aid = aid_fact(d, units)
            aid_out.add(d, aid)
            program(d.get("association_id"), d.get("program_id"))["distributions"].add(aid)

    return {
        "association": filters.association or principal.association_id,
        "program": filters.program,
        "from": filters.date_from.isoformat() if filters.date_from else None,
        "to": filters.date_to.isoformat() if filters.date_to else None,
        "money_in": money_in.as_dict(),
        "aid_out": aid_out.as_dict(),
        "programs": [_program_row(key, row, units) for key, row in sorted(programs.items(), key=_program_order)],
    }


def unknown_association(hub: Hub, association: str) -> str | None:
    """Why ``association`` names no record of this store, with the ids it holds; None when some record is its.

    An id mistyped for ``hub report --association`` added up to zero donations, which reads
    as an association that received nothing.
    """
    with hub.store.engine.connect() as conn:
        if conn.execute(select(_r.c.id).where(_r.c.association_id == association).limit(1)).first() is not None:
            return None
        known = conn.execute(select(_r.c.association_id).where(_r.c.association_id.is_not(None)).distinct().limit(1000)).scalars().all()
    if not known:
        return "the store holds no association's records yet"
    shown = ", ".join(sorted(known)[:10]) + (f" and {len(known) - 10} more" if len(known) > 10 else "")
    return f"no record in this store belongs to association {association!r}{did_you_mean(association, known)} (it holds {shown})"


def lines(side: dict[str, Any], groups: dict[str, str]) -> Iterator[tuple[str | None, str | None, dict[str, Any]]]:
    """The lines a table of one side of an account lists: ``(field, value, figures)``.

    The total first, with field and value None; then each group's line, as ``account`` ordered
    them (``groups`` is MONEY_GROUPS for ``money_in``, AID_GROUPS for ``aid_out``).
    """
    yield None, None, side
    for part, field in groups.items():
        for row in side[part]:
            yield field, row[field], row


def _program_order(item) -> tuple:
    (association_id, program_id), _row = item
    return (association_id or "", program_id is None, program_id or "")


def _program_row(key: tuple[str | None, str | None], row: dict[str, Any], units: Settings) -> dict[str, Any]:
    """One program's line: its own record's words and target, what was given to it and what it delivered.

    A program named by donations or distributions but not stored (yet) is listed with no title;
    the records that name none are the line whose ``id`` is null.
    """
    association_id, program_id = key
    p = row["record"] or {}
    target = Money(units)
    target.add(p.get("target_amount"), p.get("currency"), record_day(p.get("start_date")))
    return {
        "id": program_id,
        "association_id": association_id,
        "stored": row["record"] is not None,
        "title_ar": p.get("title_ar"),
        "title_en": p.get("title_en"),
        "status": p.get("status"),
        "target": target.as_dict(),
        "donations": row["donations"].as_dict(),
        "distributions": row["distributions"].as_dict(),
    }
