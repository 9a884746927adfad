"""JSON Lines: one JSON object a line. A line that is not an object is a bad record, not a bad file.

A UTF-8 byte order mark before the first line (Windows editors write one) is not part of the
record: orjson refuses it, and the file's first record went to quarantine as "not valid JSON".
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator
from pathlib import Path

from hub import exactjson
from hub.errors import InputError, RecordProblem
from hub.readers.filekind import kind_of
from hub.text.legacy import code_page_name, cut_short, not_utf8_from, utf8_mending

__all__ = ["JsonlFile"]


class JsonlFile:
    """One JSONL file; ``rows()`` yields ``(line, line, object_or_text, problems)``."""

    header = None

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise InputError.no_such_file(self.path)
        kind = kind_of(self.path)
        if kind is not None:
            raise kind.refused(self.path, "not a JSON Lines file")

    def rows(self, start_after: int = 0) -> Iterator[tuple[int, int, object, tuple[RecordProblem, ...] | None]]:
        """Yield every non-blank line after line ``start_after``, parsed, or its text with the problem."""
        with self.path.open("rb") as f:
            for lineno, raw in enumerate(f, start=1):
                if lineno == 1 and raw.startswith(codecs.BOM_UTF8):
                    raw = raw[len(codecs.BOM_UTF8) :]
                if lineno <= start_after or not raw.strip():
                    continue
                try:
                    obj = exactjson.loads(raw)
                except exactjson.JSONDecodeError as exc:
                    text, why = _as_text(raw, exc)
                    yield lineno, lineno, text.rstrip("\r\n"), (RecordProblem("(record)", "json", why),)
                    continue
                if not isinstance(obj, dict):
                    yield lineno, lineno, obj, (RecordProblem("(record)", "type", "a line must hold one JSON object"),)
                    continue
                yield lineno, lineno, obj, None


def _as_text(raw: bytes, exc: Exception) -> tuple[str, str]:
    """A line that is not a JSON record, as text to keep in quarantine, and why it is not one, in words.

    The bytes of a line that are in another encoding are kept as that encoding reads them
    (Windows-1256 for Arabic), so the person mending it reads the name that was written, not
    a row of replacement marks.
    """
    try:
        return raw.decode("utf-8"), f"not valid JSON: {exc}"
    except UnicodeDecodeError as bad:
        if cut_short(bad):
            return (
                raw.decode("utf-8", errors="replace"),
                "the line ends in the middle of a character: the file was cut short (an interrupted copy or download?)",
            )
        return utf8_mending(raw), (
            f"the line is {not_utf8_from(raw, bad)}: "
            f"a line from a file in another encoding, such as Windows-1256? (those bytes kept as read in {code_page_name(raw)})"
        )
