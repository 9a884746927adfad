"""How the CLI speaks: tables for people, JSON for scripts, errors without tracebacks."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import click
import orjson
from rich.console import Console
from rich.table import Table

from hub.secrets import redactor

__all__ = ["OUTPUT_FILE", "console", "emit_json", "err_console", "fail", "table"]

console = Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 160)
err_console = Console(stderr=True, highlight=False, soft_wrap=True, width=None if sys.stderr.isatty() else 160)


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


def emit_json(obj: Any) -> None:
    """Print one JSON document on stdout (Arabic as is, secrets masked)."""
    text = orjson.dumps(obj, default=str, option=orjson.OPT_INDENT_2).decode()
    sys.stdout.write(redactor.redact(text) + "\n")


def table(title: str | None, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """Print a table; cells are shown as text, None as an empty cell."""
    t = Table(title=title, show_lines=False, header_style="bold")
    for c in columns:
        t.add_column(c, overflow="fold")
    for r in rows:
        t.add_row(*["" if v is None else redactor.redact(str(v)) for v in r])
    console.print(t)


def fail(message: str, code: int = 2) -> None:
    """Print an error on stderr and exit with ``code``."""
    err_console.print(f"[bold red]error:[/] {redactor.redact(message)}", markup=True, highlight=False)
    raise SystemExit(code)
