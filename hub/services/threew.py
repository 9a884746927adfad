"""The 3W of the distributions ("who does what where"), HXL-tagged: the table humanitarian coordination reads.

OCHA's clusters, HDX and the coordination of a response read 3W/4W tables: for each
implementing organisation, sector, place and month, how much aid went out and whom it
reached. The platform holds exactly that, from every association, so it can give it in the
form those tools take: a CSV whose second row carries HXL hashtags (``#org+impl+code``,
``#sector+code``, ``#adm1+code``, ``#reached+hh``...), the tags the common schema's
descriptions already name, so a tool reads the columns whatever language the headers are in.

One row per association, sector, governorate, district and month: the district (admin2) is
the P-code of the distribution's ``location`` cut to its admin2 part (``SY020300`` is in
``SY0203``), empty when the location is none, a governorate or a community code. People counted are added up; a count
no distribution of the row states is left empty, not 0 (as the account says null). Value
columns: one per unit, as the account adds money (a currency, or the Syrian pound before its
redenomination as a unit of its own, by each record's own date), never one sum of two pounds.
Text that a spreadsheet would take for a formula is written with an apostrophe before it,
as every spreadsheet the hub writes does.
"""

from __future__ import annotations

import calendar
import csv
import io
import re
from collections import defaultdict
from typing import Any

import orjson
from sqlalchemy import and_, select

from hub.app import Hub
from hub.places import GOVERNORATES
from hub.reconcile.convert import settings_from
from hub.schema import sector_crosswalk
from hub.services import browse
from hub.services.report import AidTotals, aid_fact, readable, record_day
from hub.services.spreadsheet import neutralise
from hub.services.tokens import Principal
from hub.store.models import records_table

__all__ = ["COLUMNS", "csv_text", "three_w", "three_w_csv"]

_r = records_table
# (English header, Arabic header, HXL hashtag) of the columns before the value columns. The
# hashtags are what a tool reads; the headers are for the person who opens the file.
COLUMNS = (
    ("Organisation", "الجمعية", "#org+impl+name+i_ar"),
    ("Organisation (English)", "الجمعية (بالإنجليزية)", "#org+impl+name+i_en"),
    ("Organisation code", "رمز الجمعية", "#org+impl+code"),
    ("Sector", "القطاع", "#sector+code"),
    ("Cluster", "المجموعة القطاعية", "#sector+cluster"),
    ("Governorate", "المحافظة (بالإنجليزية)", "#adm1+name+i_en"),
    ("Governorate (Arabic)", "المحافظة", "#adm1+name+i_ar"),
    ("Governorate P-code", "رمز المحافظة", "#adm1+code"),
    ("District P-code", "رمز المنطقة", "#adm2+code"),
    ("From", "من", "#date+start"),
    ("To", "إلى", "#date+end"),
    ("Distributions", "التوزيعات", "#activity+num"),
    ("Households reached", "الأسر المستفيدة", "#reached+hh"),
    ("People reached", "الأفراد المستفيدون", "#reached+ind"),
    ("Women and girls reached", "النساء والفتيات", "#reached+f"),
    ("Men and boys reached", "الرجال والفتيان", "#reached+m"),
)
_PLACE = {code: (en, ar) for code, en, ar, _iso, _other in GOVERNORATES}
_ADMIN2_OR_3 = re.compile(r"^SY[0-9]{4}(?:[0-9]{2})?$")


def _district(location: object) -> str:
    """The admin2 P-code a location lies in: an admin2 or admin3 code cut to six characters; else empty."""
    return location[:6] if isinstance(location, str) and _ADMIN2_OR_3.match(location) else ""


def _value_column(unit: str) -> tuple[str, str, str]:
    """``SYP`` -> ("Value (SYP)", "القيمة (SYP)", "#value+syp"); an epoch's unit gets its words as attributes."""
    attributes = "+".join(re.sub(r"[^a-z0-9]+", "_", part.lower()).strip("_") for part in unit.split(" ", 1))
    return f"Value ({unit})", f"القيمة ({unit})", f"#value+{attributes}"


def three_w(hub: Hub, principal: Principal, filters: browse.Filters, lang: str = "en") -> tuple[list[str], list[str], list[list[Any]]]:
    """Headers (in ``lang``: en or ar), HXL hashtags and rows of the 3W of the distributions ``principal`` may read."""
    readable(principal)
    units = settings_from(hub.config.reconcile)
    groups: dict[tuple[str, str, str, str, str], AidTotals] = defaultdict(AidTotals)
    dialect = hub.store.dialect
    names: dict[str, dict] = {}
    with hub.store.reading() as conn:  # one snapshot: the names and the figures of the same moment
        for (data,) in conn.execute(
            select(_r.c.data).where(and_(*browse.where_clauses(dialect, principal, "association", browse.Filters())))
        ):
            association = orjson.loads(data)
            names[association.get("id")] = association
        query = select(_r.c.data).where(and_(*browse.where_clauses(dialect, principal, "distribution", filters))).order_by(_r.c.id)
        for (data,) in conn.execution_options(yield_per=2000).execute(query):
            d = orjson.loads(data)
            day = record_day(d.get("distributed_at"))
            month = day.strftime("%Y-%m") if day else ""
            # Added up as the account adds a group of distributions: the same people, units and epochs.
            where = (str(d.get("governorate") or ""), _district(d.get("location")))
            groups[(str(d.get("association_id") or ""), str(d.get("sector") or ""), *where, month)].add(aid_fact(d, units))
    value_units = sorted({unit for row in groups.values() for unit in row.value})
    value_columns = [_value_column(unit) for unit in value_units]
    clusters = sector_crosswalk()
    rows = []
    for (association, sector, governorate, district, month), row in sorted(groups.items()):
        named = names.get(association, {})
        en, ar = _PLACE.get(governorate, ("", ""))
        start, end = "", ""
        if month:
            year, number = int(month[:4]), int(month[5:])
            start, end = f"{month}-01", f"{month}-{calendar.monthrange(year, number)[1]:02d}"
        rows.append(
            [
                neutralise(named.get("name_ar") or ""),
                neutralise(named.get("name_en") or ""),
                association,
                sector,
                clusters.get(sector, {}).get("cluster", ""),
                en,
                ar,
                governorate,
                district,
                start,
                end,
                row.count,
                *("" if n is None else n for n in row.people),
                *(format(row.value[unit], "f") if unit in row.value else "" for unit in value_units),
            ]
        )
    columns = [*COLUMNS, *value_columns]
    headers = [ar if lang == "ar" else en for en, ar, _tag in columns]
    return headers, [tag for _en, _ar, tag in columns], rows


def three_w_csv(hub: Hub, principal: Principal, filters: browse.Filters, lang: str = "en") -> str:
    """The 3W as CSV text: headers, the HXL hashtag row, then the rows."""
    return csv_text(*three_w(hub, principal, filters, lang))


def csv_text(headers: list[str], tags: list[str], rows: list[list[Any]]) -> str:
    """A table as CSV text, its HXL hashtag row under the headers."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(headers)
    writer.writerow(tags)
    writer.writerows(rows)
    return out.getvalue()
