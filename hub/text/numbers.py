"""Numbers as people and banks write them: digits and at most one point, never an exponent.

Python's ``Decimal`` also reads ``1e5``, ``1_000``, ``Infinity`` and ``NaN``. Nobody types
those into a donations sheet, and two of them do harm:

- a spreadsheet writes ``1.23457E+11`` when it shows a number in scientific notation, and by
  then the digits after the sixth are gone, so storing it would store a different amount;
- an exponent is a few characters that stand for a huge number: ``1e999999`` as a whole
  number took 22 seconds to expand, and one more digit takes hours, all from one cell.

Thousands separators are taken out only where they separate thousands. Taken out wherever
they stood, ``2,50`` (two and a half with a decimal comma, in a column read with a decimal
point) was stored as 250, and ``1.234,50`` as 1.2345: amounts a hundred times off, without a word.

So text from outside becomes a number here, or is refused with a reason a person can act on.
"""

from __future__ import annotations

import re
from decimal import Decimal

__all__ = ["MAX_WHOLE_DIGITS", "NotPlain", "float_text", "plain_decimal", "plain_number", "shortest", "ungrouped"]

# ASCII digits only: Arabic-Indic digits are made ASCII (``normalize_digits``) before this.
_PLAIN = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
_EXPONENT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)[eE][+-]?[0-9]+")
MAX_WHOLE_DIGITS = 30  # beyond any count or amount the schema holds; int() of a long number is slow
# A whole part grouped by thousands: 1,250,000 (or 1.250.000 where the comma is the decimal point).
_GROUPED = {g: re.compile(rf"[+-]?[0-9]{{1,3}}(?:{re.escape(g)}[0-9]{{3}})+") for g in (",", ".")}
_NUMBER_CHARACTERS = re.compile(r"[0-9+\-., \u00a0]*")
# What is wrong with a separator out of place, and which decimal_separator the column may need.
_MISPLACED = {
    ",": ("a comma that does not stand between thousands (1,250,000)", "if the comma is the decimal point, set decimal_separator: ','"),
    ".": ("a point that does not stand between thousands (1.250.000,50)", "if the point is the decimal point, set decimal_separator: '.'"),
}


class NotPlain(ValueError):
    """Text that is not a plain number; ``str()`` is the reason, to follow the text: ``'1e5' {reason}``."""


def _check(text: str, what: str) -> None:
    if _PLAIN.fullmatch(text):
        return
    if _EXPONENT.fullmatch(text):
        raise NotPlain(
            "is in scientific notation; write the number in full (a spreadsheet that shows 1.23457E+11 has already rounded the digits away)"
        )
    raise NotPlain(f"is not {what}")


def ungrouped(text: str, group: str, *, hint: bool = True) -> str:
    """``text`` without the thousands separators ``group`` (``,`` or ``.``); spaces between digit groups too.

    Each separator must stand between groups of three digits in the whole part; NotPlain says
    what is wrong otherwise, and (``hint``) which ``decimal_separator`` the column may need. The
    decimal point (the other of the two) is left where it is.
    """
    if not _NUMBER_CHARACTERS.fullmatch(text):
        return text  # words, a currency: not a number at all, which the caller says
    if " " in text or "\u00a0" in text:
        text = re.sub(r"^([+-])\s+", r"\1", text).replace("\u00a0", group).replace(" ", group)
    if group not in text:
        return text
    point = "." if group == "," else ","
    whole, has_point, fraction = text.partition(point)
    if group in fraction or not _GROUPED[group].fullmatch(whole):
        wrong, fix = _MISPLACED[group]
        raise NotPlain(f"has {wrong}; {fix} for this column" if hint else f"has {wrong}")
    return whole.replace(group, "") + (point + fraction if has_point else "")


def plain_decimal(text: str, what: str = "a number") -> Decimal:
    """``text`` (ASCII digits, optional sign and point) as a Decimal; NotPlain says why not."""
    _check(text, what)
    return Decimal(text)


def plain_number(text: str) -> str:
    """``text`` in its shortest form (``0125.50`` is ``125.5``, ``-0`` is ``0``), every digit kept.

    Done on the text rather than with ``Decimal.normalize()``, which rounds to 28 digits.
    """
    _check(text, "a number")
    return shortest(text)


def shortest(text: str) -> str:
    """A plain number's shortest form; ``text`` must already be plain (see ``plain_number``)."""
    sign = "-" if text[0] == "-" else ""
    whole, _, frac = text.lstrip("+-").partition(".")
    whole, frac = whole.lstrip("0") or "0", frac.rstrip("0")
    out = f"{whole}.{frac}" if frac else whole
    return "0" if out == "0" else sign + out


def float_text(value: float) -> str:
    """A float from a workbook or JSON as a person writes it: ``0.00001``, not ``1e-05``."""
    if value.is_integer():
        return str(int(value))
    shown = repr(value)
    if "e" in shown or "E" in shown:
        shown = format(Decimal(shown), "f")
    return shown
