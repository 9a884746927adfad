"""Which single-byte code page a file that is not UTF-8 was written in: Arabic or Western.

Older exports come in Windows-1256 (Arabic: a Syrian bank's statement, an association's Excel
CSV) or Windows-1252 (Western: a European bank's statement for a donor abroad). Both decode
any bytes without an error, so the wrong one silently turns ``سامي`` into ``ÓÇãí`` or
``Überweisung`` into Arabic letters, and names no longer match. The bytes tell them apart:
accented Latin letters sit inside words of ASCII letters (``Société``), where Arabic words
are made of high bytes alone.
"""

from __future__ import annotations

import re

__all__ = ["single_byte_encoding"]

_HIGH = re.compile(rb"[\x80-\xff]")
_IN_LATIN_WORD = re.compile(rb"(?<=[A-Za-z])[\x80-\xff]|[\x80-\xff](?=[A-Za-z])")


def single_byte_encoding(raw: bytes) -> str:
    """``cp1252`` when most non-ASCII bytes touch an ASCII letter (Western text), else ``cp1256``."""
    high = len(_HIGH.findall(raw))
    if not high:
        return "cp1256"  # ASCII alone: either reads it the same
    return "cp1252" if len(_IN_LATIN_WORD.findall(raw)) * 2 > high else "cp1256"
