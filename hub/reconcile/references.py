"""Finding payment references inside remittance text, whatever the payer did to them.

References are compared normalised: upper case, Arabic-Indic digits as ASCII, no spaces,
dashes, dots or slashes. The text is cut into alphanumeric tokens and every run of up to
four neighbouring tokens is tried, so "AMAL 1007", "amal-1007" and "ref:AMAL1007" all find
AMAL-1007: a few dictionary look-ups per line, never a scan over every donation.
"""

from __future__ import annotations

import re

from hub.text.arabic import normalize_digits

__all__ = ["normalize_reference", "reference_candidates"]

_SEPARATORS = re.compile(r"[\s\-_./\\:#]+")
_TOKENS = re.compile(r"[A-Z0-9]+")


def normalize_reference(value: str | None) -> str:
    """The comparison form of a reference; empty for nothing usable."""
    if not value:
        return ""
    return _SEPARATORS.sub("", normalize_digits(value).upper())


def reference_candidates(*texts: str | None, max_join: int = 4) -> set[str]:
    """Every normalised string a reference could be in these texts (runs of up to ``max_join`` tokens)."""
    out: set[str] = set()
    for text in texts:
        if not text:
            continue
        tokens = _TOKENS.findall(normalize_digits(text).upper())
        for i in range(len(tokens)):
            joined = ""
            for j in range(i, min(i + max_join, len(tokens))):
                joined += tokens[j]
                if len(joined) >= 4:
                    out.add(joined)
    return out
