"""How the CLI speaks: tables for people, JSON for scripts, errors without tracebacks."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from typing import Any

import orjson
from rich.console import Console
from rich.table import Table

from hub.secrets import redactor

__all__ = ["console", "emit_json", "err_console", "fail", "table"]

console = Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 160)
err_console = Console(stderr=True, highlight=False, soft_wrap=True, width=None if sys.stderr.isatty() else 160)


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
