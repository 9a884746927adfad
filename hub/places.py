"""Syria's 14 governorates as OCHA COD-AB admin1 P-codes, and names people write for them.

Sources write governorates as Arabic or English names in many spellings, as ISO 3166-2
codes, or as P-codes. A bare ``SY.nn`` is refused: GeoNames uses that shape in another
order (its ``SY.01`` is Al-Hasakeh), so a code whose scheme is unknown is never guessed.
"""

from __future__ import annotations

import re

from hub.text.arabic import name_keys

__all__ = ["GOVERNORATES", "governorate_code"]

# P-code, English (OCHA spelling), Arabic, ISO 3166-2, other spellings seen in sources.
GOVERNORATES: tuple[tuple[str, str, str, str, tuple[str, ...]], ...] = (
    ("SY01", "Damascus", "دمشق", "SY-DI", ("Dimashq", "Damas", "مدينة دمشق")),
    ("SY02", "Aleppo", "حلب", "SY-HL", ("Halab", "Alep")),
    (
        "SY03",
        "Rural Damascus",
        "ريف دمشق",
        "SY-RD",
        ("Rif Dimashq", "Damascus Countryside", "Reef Damascus", "Rif Damascus"),
    ),
    ("SY04", "Homs", "حمص", "SY-HI", ("Hims",)),
    ("SY05", "Hama", "حماة", "SY-HM", ("Hamah", "Hamaa")),
    ("SY06", "Lattakia", "اللاذقية", "SY-LA", ("Latakia", "Al-Ladhiqiyah", "Ladhiqiyah", "Lattaquié")),
    ("SY07", "Idleb", "إدلب", "SY-ID", ("Idlib",)),
    ("SY08", "Al-Hasakeh", "الحسكة", "SY-HA", ("Hasakeh", "Al-Hasakah", "Hasakah", "Hassakeh", "Al Hasakah")),
    (
        "SY09",
        "Deir-ez-Zor",
        "دير الزور",
        "SY-DY",
        ("Deir ez-Zor", "Deir Ezzor", "Dayr az Zawr", "Deir al-Zor", "Deir Ez Zor"),
    ),
    ("SY10", "Tartous", "طرطوس", "SY-TA", ("Tartus", "Tartous")),
    ("SY11", "Ar-Raqqa", "الرقة", "SY-RA", ("Raqqa", "Ar-Raqqah", "Raqqah", "Al-Raqqa")),
    ("SY12", "Dar'a", "درعا", "SY-DR", ("Daraa", "Deraa", "Dara'a")),
    ("SY13", "As-Sweida", "السويداء", "SY-SU", ("Sweida", "As-Suwayda", "Suwayda", "Al-Suwayda", "Sweyda")),
    ("SY14", "Quneitra", "القنيطرة", "SY-QU", ("Al-Qunaytirah", "Qunaytirah", "Kuneitra")),
)

_PCODE = re.compile(r"^SY(0[1-9]|1[0-4])$")


_BY_NAME: dict[str, str] = {}
for _code, _en, _ar, _iso, _others in GOVERNORATES:
    for _name in (_en, _ar, _iso, *_others):
        for _key in name_keys(_name):
            _BY_NAME[_key] = _code


# "محافظة حلب", "Aleppo Governorate", "Aleppo gov.": the word for governorate around the name.
_GOVERNORATE_WORD = re.compile(r"^(?:محافظه|governorate of)\s+|\s+(?:governorate|gov\.?|governorat)$")


def governorate_code(value: str) -> str | None:
    """The admin1 P-code for a P-code, ISO 3166-2 code or a governorate name; None if unknown.

    The name may carry the word for governorate (``محافظة حلب``, ``Aleppo Governorate``).
    """
    text = value.strip().upper()
    if _PCODE.match(text):
        return text
    keys = name_keys(value)
    keys += name_keys(_GOVERNORATE_WORD.sub("", keys[0]).strip())
    return next((_BY_NAME[k] for k in keys if k in _BY_NAME), None)
