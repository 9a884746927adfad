"""JSON from outside read without losing a digit, and what the hub's canonical JSON cannot hold.

orjson is the hub's JSON parser: several times faster than the standard library's. But it
reads an integer beyond 64 bits (below -9223372036854775808 or above 18446744073709551615) as
a float, without a word: a 20-digit account, card or national id number sent as a bare JSON
number would be stored rounded, and nobody would know. A document is read by orjson unless it
holds a bare number of 19 digits or more (found by a scan of the bytes that costs a quarter
of orjson's parse); those few are read by the standard library, which keeps every integer
whole. Such an integer cannot be written as the hub's canonical JSON either (orjson writes
64-bit integers only), so the pipeline refuses the record in words (:func:`unwritable` names
the field), and the quarantine keeps the record as it came (:func:`dumps`).
"""

from __future__ import annotations

import json
from datetime import date, datetime, time
from typing import Any
from uuid import UUID

import orjson

from hub.errors import RecordProblem

__all__ = ["JSONDecodeError", "dumps", "loads", "loads_answer", "problem_writing", "unwritable", "unwritable_problem"]

# orjson's own JSONDecodeError is a subclass: one ``except`` catches both parsers' errors.
JSONDecodeError = json.JSONDecodeError

_DIGITS_AS_ZERO = bytes.maketrans(b"123456789", b"000000000")
# Every integer of up to 18 digits fits in 64 bits; some of 19 and 20 digits do not.
_LONG_RUN = b"0" * 19
_BEFORE_A_NUMBER = frozenset(b"[:,")
_SPACE_OR_SIGN = frozenset(b" \t\r\n-")
_LOWEST, _HIGHEST = -(2**63), 2**64 - 1  # what orjson reads and writes as an integer


def _has_long_number(raw: bytes) -> bool:
    """Whether ``raw`` may hold a bare number of 19 digits or more (a long digit run in a string may say yes too)."""
    zeros = raw.translate(_DIGITS_AS_ZERO)
    at = zeros.find(_LONG_RUN)
    while at >= 0:
        j = at - 1
        while j >= 0 and raw[j] in _SPACE_OR_SIGN:
            j -= 1
        if j < 0 or raw[j] in _BEFORE_A_NUMBER:
            return True
        at = zeros.find(_LONG_RUN, at + len(_LONG_RUN))
    return False


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not a JSON value")


def loads(raw: bytes | str) -> Any:
    """Parse JSON text with every integer kept whole; ``JSONDecodeError`` if it is not JSON.

    Refuses what orjson refuses (NaN, Infinity, text that is not UTF-8, nesting past 1024
    levels), whichever parser reads it.
    """
    data = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw
    if not _has_long_number(data):
        return orjson.loads(data)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _error(f"not valid UTF-8 at byte {exc.start} ({exc.reason})") from None
    try:
        return json.loads(text, parse_constant=_no_constant)
    except RecursionError:
        raise _error("nested too deeply") from None
    except JSONDecodeError:
        raise
    except ValueError as exc:
        raise _error(str(exc)) from None


def loads_answer(content: bytes) -> Any:
    """A partner's HTTP answer as JSON, in any encoding JSON text may come in (``JSONDecodeError`` if it is not JSON).

    JSON is UTF-8 on the wire, but older systems send a byte order mark or UTF-16, which the
    standard library (httpx's ``Response.json``) reads and orjson does not. Parsed by
    :func:`loads`, so a 10,000-deep nesting is a parse error, where ``Response.json`` raised
    RecursionError and the run ended in an internal error.
    """
    encoding = json.detect_encoding(content)
    if encoding != "utf-8":
        try:
            content = content.decode(encoding).encode("utf-8", "surrogatepass")
        except UnicodeDecodeError as exc:
            raise _error(f"not valid {encoding} at byte {exc.start} ({exc.reason})") from None
    return loads(content)


def _error(message: str) -> JSONDecodeError:
    """A parse error whose text is ``message`` alone: where it is, the standard library does not say."""
    error = JSONDecodeError(message, "", 0)
    error.args = (message,)
    return error


def dumps(value: Any, *, sort_keys: bool = False, indent: bool = False) -> bytes:
    r"""JSON of ``value`` (UTF-8) that never fails for what :func:`loads` returned, integers of any size included.

    orjson where it can; else the standard library. Arabic stays as written either way, and
    text that is not valid Unicode (a lone surrogate) is written as its escape, ``\ud800``.
    Values of other types are written as their text, as the quarantine has always kept them.
    """
    try:
        return orjson.dumps(value, default=str, option=(orjson.OPT_SORT_KEYS if sort_keys else 0) | (orjson.OPT_INDENT_2 if indent else 0))
    except TypeError:
        text = json.dumps(
            value,
            default=str,
            sort_keys=sort_keys,
            ensure_ascii=False,
            indent=2 if indent else None,
            separators=None if indent else (",", ":"),
        )
        return text.encode("utf-8", "backslashreplace")


def unwritable(value: Any, path: tuple = ()) -> tuple[tuple, str] | None:
    """The first place in ``value`` that canonical JSON cannot write, and why; None if there is none."""
    if value is None or isinstance(value, bool | float | datetime | date | time | UUID):
        return None
    if isinstance(value, int):
        if _LOWEST <= value <= _HIGHEST:
            return None
        digits = len(str(abs(value)))
        return path, f'{value} is a whole number of {digits} digits, more than is kept exactly; send it as text, like "{value}"'
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return path, "the text holds an escape of half a character (a lone surrogate, \\ud800 to \\udfff), which is not text"
        return None
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                return path, f"the field name {key!r} is not text"
            found = unwritable(item, (*path, key))
            if found is not None:
                return found
        return None
    if isinstance(value, list | tuple):
        for i, item in enumerate(value):
            found = unwritable(item, (*path, i))
            if found is not None:
                return found
        return None
    return path, f"a {type(value).__name__} is not a JSON value: a record holds text, numbers, true, false, null, lists and objects"


def problem_writing(record: Any) -> RecordProblem | None:
    """Why ``record`` cannot become canonical JSON, or None when it can (for checks that keep no JSON)."""
    try:
        orjson.dumps(record)
    except TypeError:
        return unwritable_problem(record)
    return None


def unwritable_problem(record: Any) -> RecordProblem:
    """Why a record that orjson refused to write cannot become canonical JSON, as a record's problem."""
    found = unwritable(record)
    if found is None:
        return RecordProblem("(record)", "type", "the record cannot be written as JSON")
    path, message = found
    return RecordProblem(".".join(str(p) for p in path) or "(record)", "type", message)
