"""A stream's saved cursor checked against the shape its connector declares.

Each connector keeps its own kind of position: a file's digest and row, a change number, a
timestamp. ``hub state set`` writes whatever JSON an admin types, and a value of another
shape used to fail the next run deep inside the connector (``'str' object has no attribute
'get'``). A stream that declares ``cursor_schema`` (a JSON Schema) has both ends checked:
``hub state set`` refuses a value that does not fit, and a run refuses a saved one, saying
what the connector expects and how to start over. ``None`` (never run, or rewound) always fits.
"""

from __future__ import annotations

import functools
from typing import Any

import jsonschema_rs
import orjson

from hub import exactjson
from hub.errors import HubError
from hub.sdk import Stream

__all__ = ["check_cursor", "cursor_problem"]


@functools.lru_cache(maxsize=64)
def _validator(schema_json: bytes) -> jsonschema_rs.Validator:
    # jsonschema-rs, which the records' validation has loaded already: the pure-Python
    # jsonschema would cost every run 45 ms of import for one small check.
    return jsonschema_rs.validator_for(orjson.loads(schema_json))


def cursor_problem(stream: Stream, value: Any) -> str | None:
    """Why ``value`` cannot be ``stream``'s cursor, in words; None when it can (or nothing is declared)."""
    schema = getattr(stream, "cursor_schema", None)
    if value is None or not schema:
        return None
    error = next(iter(_validator(orjson.dumps(schema, option=orjson.OPT_SORT_KEYS)).iter_errors(value)), None)
    if error is None:
        return None
    where = "/".join(str(p) for p in error.instance_path)
    expected = schema.get("description") or "the shape in its cursor_schema"
    return f"{f'at {where}: ' if where else ''}{error.message}; this connector keeps {expected}"


def check_cursor(connection: str, stream: Stream, value: Any, *, saved: bool) -> None:
    """Raise HubError when ``value`` does not fit ``stream``; ``saved``: it came from the store."""
    problem = cursor_problem(stream, value)
    if problem is None:
        return
    shown = exactjson.dumps(value).decode()
    if len(shown) > 200:
        shown = shown[:200] + "…"
    if saved:
        raise HubError(
            f"{connection}/{stream.name}: the saved cursor {shown} is not this connector's: {problem}",
            hint=f"`hub state rewind {connection} --stream {stream.name}` reads from the start (unchanged records cost nothing); "
            "`hub state set` takes a value of the right shape",
        )
    raise HubError(f"{connection}/{stream.name}: {shown} cannot be this stream's cursor: {problem}")
