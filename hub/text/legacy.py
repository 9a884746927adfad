"""Which single-byte code page a file that is not UTF-8 was written in: Arabic or Western.

Older exports come in Windows-1256 (Arabic: a Syrian bank's statement, an association's Excel
CSV) or Windows-1252 (Western: a European bank's statement for a donor abroad). Both decode
any bytes without an error, so the wrong one silently turns ``سامي`` into ``ÓÇãí`` or
``Überweisung`` into Arabic letters, and names no longer match. The bytes tell them apart:
accented Latin letters sit inside words of ASCII letters (``Société``), where Arabic words
are made of high bytes alone.

A UTF-8 file with a few bad bytes (cut short in the middle of a letter, or one line pasted in
from a Windows-1256 file) is neither: read as a code page, every Arabic letter in it would turn
to nonsense without a word. ``mostly_utf8`` tells it apart, so that the reader can name the
line at fault instead.
"""

from __future__ import annotations

import codecs
import re

__all__ = ["FILE_CUT_SHORT", "code_page_name", "cut_short", "mostly_utf8", "not_utf8_from", "single_byte_encoding", "utf8_mending"]

FILE_CUT_SHORT = "the file ends in the middle of a character: it was cut short"
_NAMES = {"cp1256": "Windows-1256", "cp1252": "Windows-1252"}  # as people know them

_HIGH = re.compile(rb"[\x80-\xff]")
_IN_LATIN_WORD = re.compile(rb"(?<=[A-Za-z])[\x80-\xff]|[\x80-\xff](?=[A-Za-z])")


_UTF8_LETTER = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}")


def mostly_utf8(raw: bytes) -> bool:
    """Whether ``raw``, which does not decode as UTF-8, is UTF-8 all the same, with a few bad bytes.

    Text in a code page almost never makes a valid UTF-8 sequence (an Arabic letter's byte is
    seldom followed by one of the continuation range); UTF-8 text is made of them. Nine in ten
    of the non-ASCII letters valid UTF-8 is taken as a UTF-8 file that was damaged.
    """
    letters = len(_UTF8_LETTER.findall(raw))
    bad = raw.decode("utf-8", errors="replace").count("\ufffd")
    return letters > 0 and bad * 9 <= letters


def cut_short(exc: UnicodeDecodeError) -> bool:
    """Whether the bytes failed to decode only because they stop inside a character.

    That is a file cut short (an interrupted copy or download), in the right encoding: the
    usual advice, to read it in another one, would turn its Arabic into nonsense.
    """
    return exc.reason in ("unexpected end of data", "truncated data")


def single_byte_encoding(raw: bytes) -> str:
    """``cp1252`` when most non-ASCII bytes touch an ASCII letter (Western text), else ``cp1256``."""
    high = len(_HIGH.findall(raw))
    if not high:
        return "cp1256"  # ASCII alone: either reads it the same
    return "cp1252" if len(_IN_LATIN_WORD.findall(raw)) * 2 > high else "cp1256"


def code_page_name(raw: bytes) -> str:
    """The code page ``raw`` reads as (:func:`single_byte_encoding`), by the name people know it by."""
    return _NAMES[single_byte_encoding(raw)]


def not_utf8_from(raw: bytes, bad: UnicodeDecodeError) -> str:
    """Where ``raw`` stops being UTF-8, in words: 'not UTF-8 from its byte 95 (0xCA)'."""
    return f"not UTF-8 from its byte {bad.start + 1} (0x{raw[bad.start]:02X})"


def _legacy_handler(encoding: str):
    def handler(exc: UnicodeDecodeError) -> tuple[str, int]:
        return exc.object[exc.start : exc.end].decode(encoding, errors="replace"), exc.end

    return handler


for _encoding in ("cp1256", "cp1252"):
    codecs.register_error(f"hub-{_encoding}", _legacy_handler(_encoding))


def utf8_mending(raw: bytes) -> str:
    """``raw`` read as UTF-8, its bytes that are not UTF-8 read in the code page they suggest.

    For a line pasted from an older file into a UTF-8 one, kept for a person to mend: both
    its parts read as they were written, where either encoding alone garbles one of them.
    """
    return raw.decode("utf-8", errors=f"hub-{single_byte_encoding(raw)}")
