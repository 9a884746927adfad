"""A stream over one file, resumable by row: the shared part of the csv, xlsx and jsonl sources.

The cursor is ``{"file": digest, "rows": n, "complete": bool}``. A run killed halfway resumes
after row ``n`` of the same file; a finished file, or a different file at the same path, is
read again from the start, and unchanged records cost nothing (same content hash, no write).
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from hub.sdk import Cursor, SourceRow, Stream

__all__ = ["FileStream", "file_digest"]


# A SourceRow from a plain tuple, without the Python-level ``__new__`` of a named tuple (once per row).
_source_row = functools.partial(tuple.__new__, SourceRow)


def file_digest(path: Path) -> str:
    """SHA-256 of the file's bytes, so a replaced file is never taken for a resumed one."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class FileStream(Stream):
    """Subclasses implement ``open_file()`` returning a reader with ``header`` and ``rows(start_after)``."""

    cursor_schema = {
        "description": 'the file read and how far: {"file": "<SHA-256 of the file>", "rows": N, "complete": true|false}',
        "type": "object",
        "required": ["file", "rows"],
        "properties": {"file": {"type": "string"}, "rows": {"type": "integer", "minimum": 0}, "complete": {"type": "boolean"}},
        "additionalProperties": False,
    }
    may_sample = True  # reading a file moves nothing
    reads_whole = True  # a finished or replaced file is read again from its first row

    def file_path(self) -> Path:
        """The file this stream reads."""
        return self.connector.context.path(self.connector.settings["path"])

    def open_file(self):
        """The reader over ``file_path()``."""
        raise TypeError(f"{type(self).__name__} must implement open_file()")

    def columns(self) -> list[str] | None:
        """The file's header."""
        return self.open_file().header

    def read_whole(self, before: Any, after: Any) -> bool:
        """A read that finished the file and did not resume one stopped halfway met every row."""
        if not isinstance(after, dict) or not after.get("complete"):
            return False
        resumed = (
            isinstance(before, dict)
            and before.get("file") == after.get("file")
            and not before.get("complete")
            and before.get("rows", 0) > 0
        )
        return not resumed

    def read(self, cursor: Cursor) -> Iterator[SourceRow]:
        """Rows after the saved position of this same file; the cursor ends ``complete``."""
        path = self.file_path()
        digest = file_digest(path)
        saved = cursor.value or {}
        start = saved.get("rows", 0) if saved.get("file") == digest and not saved.get("complete") else 0
        reader = self.open_file()
        # One position dict, updated in place: the pipeline serialises cursor.value when it
        # commits a batch, right after the batch's last row was yielded.
        position = {"file": digest, "rows": start, "complete": False}
        cursor.advance(position)
        row = _source_row
        close = getattr(reader, "close", None)
        try:
            for item in reader.rows(start_after=start):
                position["rows"] = item[0]
                yield row((item[2], item[1], item[3] if len(item) > 3 else None))
            position["complete"] = True
        finally:
            if close:
                close()  # also when the reader stops early (hub check reads the first rows only)
