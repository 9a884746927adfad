"""How the hub's log lines are written: text for a terminal or a journal, JSON for a log shipper.

A platform's operators collect the logs of ``hub serve`` and ``hub worker`` with the rest of
their services (Loki, Elasticsearch, CloudWatch), which read one JSON object per line and
index its fields; a line of text there is one opaque string without a time. Both formats
pass through the same filter, so a secret the config resolved is masked in either, and both
write control characters out, so a value from outside cannot forge a line of its own.
"""

from __future__ import annotations

import logging
import os
import sys
from datetime import UTC, datetime
from typing import Any

from hub import exactjson
from hub.secrets import RedactingFilter, redactor
from hub.text.controls import escape_controls

__all__ = ["FORMATS", "JsonLogFormatter", "LogFormatter", "as_json", "configure"]

FORMATS = ("text", "json")

# What every LogRecord carries; anything else on a record came with ``extra=`` and is a field.
_STANDARD = {*vars(logging.LogRecord("", 0, "", 0, "", (), None)), "message", "asctime"}


class LogFormatter(logging.Formatter):
    """Log lines for a terminal or a journal: control characters a message carries shown escaped."""

    def format(self, record: logging.LogRecord) -> str:
        return escape_controls(super().format(record))


class JsonLogFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, and the record's extra fields.

    A failure is named by its kind and message under ``error``; its traceback only with
    ``HUB_DEBUG=1``, as on the command line. Arabic is written as it is (UTF-8), and a
    control character inside a value is escaped by JSON itself.
    """

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name, value in vars(record).items():
            if name not in _STANDARD and not name.startswith("_"):
                line[name] = _field(value)
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            line["error"] = redactor.redact(f"{type(exc).__name__}: {exc}")
            if os.environ.get("HUB_DEBUG"):
                line["traceback"] = redactor.redact(self.formatException(record.exc_info))
        return exactjson.dumps(line).decode()


def _field(value: object) -> object:
    """An extra field as JSON holds it: numbers, flags and null as they are, anything else as masked text."""
    if value is None or isinstance(value, bool | int | float):
        return value
    return redactor.redact(str(value))


_chosen = {"form": "text"}


def configure(*, verbose: bool, form: str = "text") -> None:
    """Send the hub's log records to stderr in ``form`` (text or json), masked; INFO and up with ``verbose``."""
    _chosen["form"] = form
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RedactingFilter())
    handler.setFormatter(JsonLogFormatter() if form == "json" else LogFormatter("%(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, handlers=[handler], force=True)


def as_json() -> bool:
    """Whether stderr takes JSON lines only (``--log-format json``): errors and warnings then go out as log records too."""
    return _chosen["form"] == "json"
