"""Arabic-aware normalisation for matching keys and for reading numbers and dates.

The stored display text is never changed; these functions compute the form used to compare
(names, headers, place names) and to parse digits written as ٠-٩ or ۰-۹. Order follows
shared/DOMAIN.md: NFKC, strip bidi/format marks, tatweel and diacritics, fold letter forms.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable

__all__ = ["find_by_name", "matching_key", "name_index", "name_keys", "normalize_digits", "strip_marks"]

# Bidi and format marks that spreadsheets and bank exports leave inside cells.
_MARKS = "".join(
    [chr(c) for c in range(0x200B, 0x2010)]
    + [chr(c) for c in range(0x202A, 0x202F)]
    + [chr(c) for c in range(0x2066, 0x206A)]
    + ["\u061c", "\ufeff"]
)
_MARKS_TABLE = {ord(c): None for c in _MARKS}

# Digits: Arabic-Indic and Extended Arabic-Indic (Persian/Urdu) to ASCII; Arabic decimal
# separator to a dot; Arabic thousands separator dropped.
_DIGITS_TABLE = {
    **{0x0660 + i: ord("0") + i for i in range(10)},
    **{0x06F0 + i: ord("0") + i for i in range(10)},
    0x066B: ord("."),
    0x066C: None,
}

_DIACRITICS = (
    [chr(c) for c in range(0x064B, 0x0660)] + ["\u0670"] + [chr(c) for c in range(0x0610, 0x061B)] + [chr(c) for c in range(0x06D6, 0x06EE)]
)
_LETTERS_TABLE = {
    **{ord(c): None for c in _DIACRITICS},
    0x0640: None,  # tatweel
    ord("أ"): "ا",
    ord("إ"): "ا",
    ord("آ"): "ا",
    ord("ٱ"): "ا",
    ord("ى"): "ي",
    ord("ة"): "ه",
    ord("ؤ"): "و",
    ord("ئ"): "ي",
    ord("ء"): None,
    ord("ی"): "ي",
    ord("ک"): "ك",
}
_SPACES = re.compile(r"[\s\u00a0_\-]+")


def strip_marks(text: str) -> str:
    """``text`` without bidi/format marks (RLM, LRM, embeddings, BOM) and outer spaces."""
    return text.translate(_MARKS_TABLE).strip()


def normalize_digits(text: str) -> str:
    """``text`` with Arabic-Indic digits as ASCII, ``٫`` as a dot and ``٬`` dropped; marks stripped."""
    return text.translate(_MARKS_TABLE).translate(_DIGITS_TABLE).strip()


def matching_key(text: str) -> str:
    """The comparison form of ``text``: folded letters, no marks, lower case, single spaces.

    Two spellings that a reader takes for the same word get the same key: ``إدلب`` and
    ``ادلب``, ``حماة`` and ``حماه``, ``Damascus `` and ``damascus``.
    """
    if text.isascii():
        # No table folds an ASCII character and NFKC leaves ASCII as it is: only spaces and
        # case are left to fold. A skip rule compares every cell of its column (receipt
        # numbers, mostly): this way costs a tenth of the full one for them.
        return text.lower() if text.isalnum() else _SPACES.sub(" ", text).strip().casefold()
    text = unicodedata.normalize("NFKC", text)
    text = text.translate(_MARKS_TABLE).translate(_LETTERS_TABLE).translate(_DIGITS_TABLE)
    return _SPACES.sub(" ", text).strip().casefold()


_ARTICLES = ("al ", "as ", "ar ", "ad ", "ال")


def name_keys(name: str) -> list[str]:
    """The keys a proper name is looked up by: its matching key, then the same without its article.

    ``Al-Hasakeh`` and ``الحسكة`` are also ``hasakeh`` and ``حسكه``; apostrophes are left out
    (``Dar'a`` is ``dara``). Governorates and sectors are indexed and looked up this way.
    """
    key = matching_key(name).replace("'", "").replace("’", "")
    return [key, *(key[len(a) :].strip() for a in _ARTICLES if key.startswith(a))]


def name_index(named: Iterable[tuple[str, Iterable[str]]], keys: Callable[[str], list[str]] = name_keys) -> dict[str, str]:
    """Every key of every name (``keys``) to the code it names, from ``(code, names)`` pairs; the first code to claim a key keeps it."""
    found: dict[str, str] = {}
    for code, names in named:
        for name in names:
            for key in keys(name):
                found.setdefault(key, code)
    return found


def find_by_name(index: dict[str, str], value: str, keys: Callable[[str], list[str]] = name_keys) -> str | None:
    """The code ``value`` names in ``index`` (made by :func:`name_index` with the same ``keys``); None if none."""
    for key in keys(value):
        if key in index:
            return index[key]
    return None
