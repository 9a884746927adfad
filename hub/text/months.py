"""Month names in Arabic, as Syrian exports write them, read where a date format names the month.

A date column shown as a long date (``5 تشرين الأول 2026``) exports with the month's name,
which ``strptime``'s ``%B`` reads only in English. The Levantine names (كانون الثاني … كانون
الأول) and the names used elsewhere in the Arab world (يناير … ديسمبر) are both read, in any of
their spellings (آذار or اذار, الأول or الاول), and put in English before the format is applied.
"""

from __future__ import annotations

import re

from hub.text.arabic import matching_key

__all__ = ["in_english"]

_NAMES = {
    "January": ("كانون الثاني", "يناير"),
    "February": ("شباط", "فبراير"),
    "March": ("آذار", "مارس"),
    "April": ("نيسان", "أبريل", "إبريل"),
    "May": ("أيار", "مايو"),
    "June": ("حزيران", "يونيو", "يونيه"),
    "July": ("تموز", "يوليو", "يوليه"),
    "August": ("آب", "أغسطس"),
    "September": ("أيلول", "سبتمبر"),
    "October": ("تشرين الأول", "أكتوبر"),
    "November": ("تشرين الثاني", "نوفمبر"),
    "December": ("كانون الأول", "ديسمبر"),
}
_ENGLISH = {matching_key(name): month for month, names in _NAMES.items() for name in names}
# Longest first, so that "ابريل" is not read as "اب" (August) followed by letters.
_ANY = re.compile(r"(?<!\w)(" + "|".join(sorted(map(re.escape, _ENGLISH), key=len, reverse=True)) + r")(?!\w)")
_ARABIC_LETTER = re.compile(r"[\u0621-\u064a]")


def in_english(text: str) -> str | None:
    """``text`` (folded) with its Arabic month name in English; None when it holds no Arabic letter."""
    if not _ARABIC_LETTER.search(text):
        return None
    return _ANY.sub(lambda m: _ENGLISH[m.group(1)], matching_key(text))
