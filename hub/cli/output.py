"""How the CLI speaks: tables for people, JSON for scripts, errors without tracebacks.

What it prints comes from outside as often as not: a quarantined row, a partner's error, a
cursor value. So nothing printed is read as Rich markup (``[/b]`` in a donor's name would
stop the command with a MarkupError) or as emoji codes, and control characters are shown
escaped: an ESC in a CSV cell must not recolour, retitle or clear the admin's terminal.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from hub import exactjson
from hub.cli import logs
from hub.secrets import redactor
from hub.store.types import MAX_ROW_ID
from hub.text.controls import escape_controls

__all__ = ["LIMIT", "OUTPUT_FILE", "ROW_ID", "console", "emit_json", "err_console", "fail", "local_time", "say", "table"]

console = Console(highlight=False, markup=False, emoji=False, soft_wrap=True, width=None if sys.stdout.isatty() else 160)
err_console = Console(stderr=True, highlight=False, markup=False, emoji=False, soft_wrap=True, width=None if sys.stderr.isatty() else 160)


def say(*parts: str | tuple[str, str], err: bool = False, redact: bool = True) -> None:
    """Print one line made of ``parts``: plain text, or ``(text, style)`` for a coloured part.

    Every part is shown as text, control characters written out and secrets masked; only the
    style, which is ours, is read by Rich. ``redact=False`` is for lines that hold no secret
    but a value given as one (the demo's platform address comes in ``${DEMO_PLATFORM_URL}``).
    """
    mask = redactor.redact if redact else str
    line = Text.assemble(*(escape_controls(mask(p)) if isinstance(p, str) else (escape_controls(mask(p[0])), p[1]) for p in parts))
    (err_console if err else console).print(line)


class _OutputFile(click.Path):
    """A file the command writes: refused up front when its folder is missing (or it is a folder).

    Found only once the writing starts, a missing folder surfaced as an internal error after
    part of the work was done.
    """

    def __init__(self) -> None:
        super().__init__(dir_okay=False, path_type=Path)

    def convert(self, value, param, ctx) -> Path:
        path = super().convert(value, param, ctx)
        folder = path.parent
        if not folder.is_dir():
            self.fail(f"the folder {str(folder)!r} does not exist: create it, or write the file elsewhere", param, ctx)
        return path


OUTPUT_FILE = _OutputFile()
# An id the store can hold (64-bit rows): a longer number is a usage error, not an overflow.
ROW_ID = click.IntRange(1, MAX_ROW_ID)
LIMIT = click.IntRange(1, 1_000_000)  # how many rows a list shows


def emit_json(obj: Any) -> None:
    """Print one JSON document on stdout (Arabic as is, secrets masked)."""
    text = exactjson.dumps(obj, indent=True).decode()
    sys.stdout.write(redactor.redact(text) + "\n")


def table(title: str | None, columns: Sequence[str], rows: Iterable[Sequence[Any]], *, empty: str | None = None) -> None:
    """Print a table; cells are shown as text (:func:`cell_text`), None as an empty cell.

    ``empty``: the sentence printed instead when there are no rows. A frame of headers with
    nothing under it leaves an admin wondering whether the command worked; a list says what
    it holds ("no runs yet") and, where there is one, the command that makes the first.
    """
    rows = list(rows)
    if not rows and empty is not None:
        say(empty)
        return
    t = Table(title=title, show_lines=False, header_style="bold")
    for c in columns:
        t.add_column(c, overflow="fold")
    for r in rows:
        t.add_row(*[escape_controls(redactor.redact(cell_text(v))) for v in r])
    console.print(t)


def cell_text(value: Any) -> str:
    """A value as a table shows it: an object or a list as compact JSON (Arabic as written), yes or no, never Python's repr.

    A bank line's counterparty read ``{'name': 'NOUR ALHUDA'}`` and its reversal ``False``.
    """
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict | list):
        return exactjson.dumps(value).decode()
    return str(value)


def local_time(moment: str | None, zone: str, *, seconds: bool = False) -> str:
    """An ISO 8601 moment as an admin reads it in a table: in the hub's zone, to the minute.

    ``2026-11-29T20:33:52.030080+00:00`` in Asia/Damascus reads ``2026-11-29 23:33 +03``
    (``seconds``: ``23:33:52``, for one run's times, a few seconds apart). JSON output keeps
    the full ISO form; a value that is not a moment is shown as it is.
    """
    if not moment:
        return ""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    try:
        at = datetime.fromisoformat(moment)
    except ValueError:
        return moment
    if at.tzinfo is None:
        return moment
    at = at.astimezone(ZoneInfo(zone))
    offset = at.strftime("%z")
    shown = offset[:3] if offset[3:] == "00" else f"{offset[:3]}:{offset[3:]}"
    return f"{at:%Y-%m-%d %H:%M:%S} {shown}" if seconds else f"{at:%Y-%m-%d %H:%M} {shown}"


def fail(message: str, code: int = 2) -> None:
    """Print an error on stderr and exit with ``code`` (a JSON log record when the logs are JSON)."""
    if logs.as_json():
        logging.getLogger("hub").error("%s", message, extra={"exit_code": code})
    else:
        say(("error:", "bold red"), f" {message}", err=True)
    raise SystemExit(code)
