"""Sectors as associations write them, read as the platform's sector codes.

A distributions sheet says ``صحة`` or ``الأمن الغذائي`` or ``WASH`` in its sector column; the
platform holds ``health``, ``food_security``, ``wash``. The crosswalk (hub/schema/sectors.json)
gives each code its English and Arabic names and the other names sources use; any of them,
in any spelling a reader takes for the same word (with or without ``ال``, alef forms, case),
is the code. A name no code carries is None: the mapping says so rather than guess.
"""

from __future__ import annotations

from functools import cache

from hub.schema import sector_crosswalk
from hub.text.arabic import find_by_name, name_index

__all__ = ["sector_code"]


@cache
def _by_name() -> dict[str, str]:
    return name_index((code, (code, entry["en"], entry["ar"], *entry.get("also", ()))) for code, entry in sector_crosswalk().items())


def sector_code(value: str) -> str | None:
    """The platform's sector code for a code or a name of one; None if unknown."""
    return find_by_name(_by_name(), value)
