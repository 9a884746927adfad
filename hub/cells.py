"""What one cell's text becomes under each mapping ``type:`` (decimal, date, governorate...).

A mapping (``hub.mapping``) decides which columns feed which field; this module holds the
converters it applies to a cell, each raising :class:`BadCell` with the rule and the words a
person fixing the row reads. They are kept apart from the mapping so that the rules for
reading an amount, a date written the Arabic way or a governorate's name can be read, and
changed, in one place.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hub.currencies import currency_code
from hub.errors import ConfigError
from hub.places import governorate_code
from hub.sectors import sector_code
from hub.text.arabic import matching_key, normalize_digits
from hub.text.months import in_english
from hub.text.nearest import did_you_mean
from hub.text.numbers import MAX_WHOLE_DIGITS, NotPlain, float_text, plain_decimal, plain_number, shortest, ungrouped

__all__ = ["EDGE_MARKS", "TYPES", "BadCell", "as_text", "cached", "cell_text", "converter", "unknown_type"]

TYPES = {"string", "decimal", "integer", "date", "datetime", "boolean", "governorate", "sector", "currency", "account", "list"}
_TRUE = {"true", "yes", "y", "1", "نعم", "صح"}
_FALSE = {"false", "no", "n", "0", "لا", "خطا"}
EDGE_MARKS = "\u200b\u200c\u200d\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u061c\ufeff \t\r\n\u00a0"


class BadCell(Exception):
    """A cell its type cannot read: the rule it broke and the words for the person fixing the row."""

    def __init__(self, rule: str, message: str) -> None:
        self.rule, self.message = rule, message


def as_text(v: Any) -> str:
    """A cell that is not text (a workbook's or JSON's number, a date) as text."""
    return float_text(v) if v.__class__ is float else str(v)


def cell_text(v: Any) -> str | None:
    """A cell as the text a reader sees: without edge spaces and bidi marks; None when blank."""
    if v is None:
        return None
    s = v if isinstance(v, str) else as_text(v)
    s = s.strip(EDGE_MARKS)
    return s or None


def _decimal(sep: str) -> Callable[[str], str]:
    plain = sep == "."

    def convert(s: str) -> str:
        if plain and s.isascii() and s.replace(".", "", 1).isdigit() and s[0] != "." and s[-1] != ".":
            # The common case, without Decimal or a regex: "13113.94" as is, "0125.50" -> "125.5".
            if s[0] != "0" and (s[-1] != "0" or "." not in s):
                return s
            return shortest(s)
        try:
            t = ungrouped(normalize_digits(s), "." if sep == "," else ",")
            return plain_number(t.replace(",", ".") if sep == "," else t)
        except NotPlain as exc:
            raise BadCell("decimal", f"{s!r} {exc}") from None

    return convert


def cached(fn: Callable[[str], Any], size: int = 4096) -> Callable[[str], Any]:
    """Memoise a converter over the few distinct values a column repeats (dates, codes, maps)."""
    memo: dict[str, Any] = {}

    def convert(s: str):
        try:
            return memo[s]
        except KeyError:
            pass
        v = fn(s)  # a BadCell raised here is not cached: the next bad row is judged again
        if len(memo) >= size:
            memo.clear()
        memo[s] = v
        return v

    return convert


def _integer(s: str) -> int:
    try:
        t = ungrouped(normalize_digits(s), ",", hint=False)
        d = plain_decimal(t, "a whole number")
    except NotPlain as exc:
        raise BadCell("integer", f"{s!r} {exc}") from None
    if d != d.to_integral_value():
        raise BadCell("integer", f"{s!r} is not a whole number")
    if len(t.lstrip("+-").split(".")[0].lstrip("0")) > MAX_WHOLE_DIGITS:
        raise BadCell("integer", f"{s!r} has more than {MAX_WHOLE_DIGITS} digits")
    return int(d)


def _parse_moment(s: str, formats: list[str], want_time: bool) -> datetime | date:
    t = normalize_digits(s)
    english = None  # the text with an Arabic month name in English, for formats that name the month
    for fmt in formats:
        try:
            return datetime.strptime(t, fmt)
        except ValueError:
            pass
        if "%B" in fmt or "%b" in fmt:
            english = english if english is not None else (in_english(t) or "")
            if english:
                try:
                    return datetime.strptime(english, fmt.replace("%b", "%B"))
                except ValueError:
                    pass
    try:
        return datetime.fromisoformat(t.replace("Z", "+00:00")) if want_time or "T" in t or " " in t else date.fromisoformat(t)
    except ValueError:
        shown = " or ".join(formats) if formats else "ISO 8601 (2026-01-31)"
        raise BadCell("date", f"{s!r} is not a date in the format {shown}{_serial_day_hint(t)}") from None


_SPREADSHEET_EPOCH = date(1899, 12, 30)  # day 0 of Excel's and LibreOffice's day numbers (1900 system)


def _serial_day_hint(t: str) -> str:
    """A spreadsheet's day number (46054) where a date belongs: say which day it would be.

    A date column formatted as a number shows, and exports, the count of days since 1899-12-30.
    It is not taken as that day: a number there may as well be a receipt number.
    """
    whole = t[:-2] if t.endswith(".0") else t
    if not (whole.isascii() and whole.isdigit() and 20000 <= int(whole) <= 80000):
        return ""
    day = _SPREADSHEET_EPOCH + timedelta(days=int(whole))
    return f"; {whole} looks like a spreadsheet's day number ({day.isoformat()}): format the column as a date"


def _date_converter(formats: list[str]) -> Callable[[str], str]:
    def convert(s: str) -> str:
        v = _parse_moment(s, formats, want_time=False)
        return (v.date() if isinstance(v, datetime) else v).isoformat()

    return convert


def _datetime_converter(formats: list[str], zone: ZoneInfo) -> Callable[[str], str]:
    def convert(s: str) -> str:
        v = _parse_moment(s, formats, want_time=True)
        if not isinstance(v, datetime):
            v = datetime.combine(v, time())
        if v.tzinfo is None:
            v = v.replace(tzinfo=zone)
        return v.isoformat()

    return convert


def _boolean(s: str) -> bool:
    k = matching_key(s)
    if k in _TRUE:
        return True
    if k in _FALSE:
        return False
    raise BadCell("boolean", f"{s!r} is not yes/no")


def _governorate(s: str) -> str:
    code = governorate_code(s)
    if code is None:
        raise BadCell("governorate", f"{s!r} is not a known governorate name or P-code")
    return code


def _sector(s: str) -> str:
    code = sector_code(s)
    if code is None:
        raise BadCell("sector", f"{s!r} is not a sector the platform knows (hub schema sectors lists them with their names)")
    return code


def _currency(s: str) -> str:
    code = currency_code(s)
    if code is None:
        raise BadCell(
            "currency",
            f"{s!r} is not a currency the hub can read: write its ISO 4217 code (SYP, USD, EUR, TRY), "
            "or give the column a map: in the stream's mapping that turns it into one",
        )
    return code


def _account(s: str) -> str:
    return re.sub(r"[\s\u00a0]+", "", normalize_digits(s)).upper()


def unknown_type(kind: Any, where: str) -> ConfigError:
    """The error for a mapping ``type:`` the hub has no converter for, with the likely one."""
    guess = did_you_mean(kind, sorted(TYPES))
    return ConfigError(f"{where}.type: unknown type {kind!r}{guess}", hint=f"one of {', '.join(sorted(TYPES))}")


def converter(kind: str, spec: dict, zone: ZoneInfo, where: str) -> Callable[[str], Any]:
    """The function reading one cell's text as ``kind`` (a field's ``spec`` gives formats, separator); BadCell when it cannot."""
    formats = spec.get("format", [])
    formats = [formats] if isinstance(formats, str) else list(formats)
    if kind == "string":
        return lambda s: s
    if kind == "decimal":
        sep = spec.get("decimal_separator", ".")
        if sep not in (".", ","):
            raise ConfigError(f"{where}.decimal_separator must be '.' or ','")
        return _decimal(sep)
    if kind == "integer":
        return _integer
    if kind == "date":
        return _date_converter(formats)
    if kind == "datetime":
        return _datetime_converter(formats, zone)
    if kind == "boolean":
        return _boolean
    if kind == "governorate":
        return _governorate
    if kind == "sector":
        return _sector
    if kind == "currency":
        return _currency
    if kind == "account":
        return _account
    raise unknown_type(kind, where)
