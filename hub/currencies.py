"""Currencies as associations write them, read as ISO 4217 codes.

An accounting export's currency column says ``ل.س``, ``ليرة سورية``, ``$`` or ``دولار``; the
common schema holds ``SYP`` and ``USD``. A mapping field of ``type: currency`` reads any
ISO 4217 code the schema allows (in any case), and the names and signs below, in any
spelling a reader takes for the same word (alef forms, marks, case, with or without ``ال``,
with or without the dots of an abbreviation: ``ل.س`` is ``ل. س`` is ``لس``).

A name that stands for more than one currency is left out, and so refused rather than guessed:
``ريال`` (Saudi, Qatari, Omani...), ``دينار``, ``جنيه``, ``kr``. ``ليرة`` alone is the Syrian
pound: the platform is Syrian, and its associations write the Turkish and Lebanese lira with
their country (``ليرة تركية``, ``ليرة لبنانية``).
"""

from __future__ import annotations

import re
from functools import cache

from hub.schema import load_schema
from hub.text.arabic import find_by_name, name_index, name_keys

__all__ = ["CURRENCY_NAMES", "currency_code", "currency_keys"]

# Code, then the names and signs sources write for it: English, Arabic, abbreviations, symbols.
CURRENCY_NAMES: tuple[tuple[str, ...], ...] = (
    ("SYP", "Syrian pound", "Syrian lira", "ليرة سورية", "الليرة السورية", "ليرة", "ل.س", "S.P.", "L.S.", "S£", "£S"),
    ("USD", "US dollar", "dollar", "دولار", "دولار أمريكي", "الدولار الأمريكي", "$", "US$"),
    ("EUR", "euro", "يورو", "€"),
    ("TRY", "Turkish lira", "ليرة تركية", "الليرة التركية", "TL", "₺"),
    ("LBP", "Lebanese pound", "ليرة لبنانية", "الليرة اللبنانية", "ل.ل"),
    ("JOD", "Jordanian dinar", "دينار أردني"),
    ("IQD", "Iraqi dinar", "دينار عراقي"),
    ("KWD", "Kuwaiti dinar", "دينار كويتي"),
    ("SAR", "Saudi riyal", "ريال سعودي", "ر.س"),
    ("QAR", "Qatari riyal", "ريال قطري"),
    ("AED", "UAE dirham", "درهم إماراتي"),
    ("EGP", "Egyptian pound", "جنيه مصري"),
    ("GBP", "pound sterling", "جنيه إسترليني", "£"),
)

_DOTS_AND_SPACES = re.compile(r"[\s.]+")


def currency_keys(name: str) -> list[str]:
    """The keys a currency's name is looked up by: its name's keys (hub.text.name_keys), and each without dots and spaces."""
    keys: list[str] = []
    for key in name_keys(name):
        for form in (key, _DOTS_AND_SPACES.sub("", key)):
            if form and form not in keys:
                keys.append(form)
    return keys


@cache
def _by_key() -> dict[str, str]:
    codes = load_schema("donation")["$defs"]["currency"]["enum"]
    # A code is itself before it is anyone's name.
    return name_index(((code, names) for code, *names in CURRENCY_NAMES), currency_keys) | {code.lower(): code for code in codes}


def currency_code(value: str) -> str | None:
    """The ISO 4217 code for a code, a name or a sign of a currency; None if unknown or ambiguous."""
    return find_by_name(_by_key(), value, currency_keys)
