"""``folder``: a drop folder; each file put there is processed once, then moved away.

Finished files go to ``done/``; a file that cannot be read at all goes to ``failed/`` with a
``.reason.txt`` beside it.

CSV, XLSX, JSON Lines and bank statements (camt XML, MT940) are read by their extension.
A file is moved only after the batch holding its last record is committed, so a crash never
loses one: the next run resumes inside the file it was reading, or moves a file it had
finished. A file replaced by another of the same name is a new file (it is fingerprinted).
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from hub import CheckFailed, Connector, Cursor, InputError, SourceRow, hookimpl
from hub.filestreams import file_digest
from hub.readers import CsvFile, JsonlFile, XlsxFile
from hub.readers.filekind import XLSX, kind_of
from hub.sdk import Stream
from hub.statements import read_statement

SETTINGS = {
    "type": "object",
    "additionalProperties": False,
    "required": ["path"],
    "properties": {
        "path": {"type": "string", "description": "The drop folder; done/ and failed/ are made inside it"},
        "pattern": {"type": "string", "default": "*", "description": "Which files to take (glob)"},
        "encoding": {"type": "string", "default": "auto", "description": "For CSV files"},
        "delimiter": {"enum": ["auto", ",", ";", "\t", "|"], "default": "auto"},
        "settle_seconds": {
            "type": "number",
            "minimum": 0,
            "maximum": 86400,
            "default": 0,
            "description": "Take a file only once it has not changed for this long: a copy still arriving waits for the next run",
        },
    },
}
_KINDS = {
    ".csv": "csv",
    ".txt": "csv",
    ".tsv": "csv",
    ".xlsx": "xlsx",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".xml": "statement",
    ".sta": "statement",
    ".mt940": "statement",
}


def _rows(path: Path, settings: dict, start_after: int) -> Iterator[tuple[int, int, object, object]]:
    kind = _KINDS.get(path.suffix.lower())
    what = None if kind else kind_of(path)
    if what is XLSX:
        kind = "xlsx"  # a workbook under another name: "….xls" that is .xlsx inside, "….xlsx.download"
    if kind == "csv":
        for item in CsvFile(path, encoding=settings.get("encoding", "auto"), delimiter=settings.get("delimiter", "auto")).rows(start_after):
            yield item[0], item[1], item[2], item[3] if len(item) > 3 else None
    elif kind == "xlsx":
        book = XlsxFile(path)
        try:
            for n, line, row in book.rows(start_after):
                yield n, line, row, None
        finally:
            book.close()
    elif kind == "jsonl":
        yield from JsonlFile(path).rows(start_after)
    elif kind == "statement":
        n = 0
        for st in read_statement(path):
            for rec in st.transactions:
                n += 1
                if n > start_after:
                    yield n, n, rec, None
    else:
        if what is not None:
            raise what.refused(path.name, "which is not read here")
        raise InputError(
            f"{path.name}: files of type {path.suffix or '(none)'} are not read here", hint="csv, xlsx, jsonl, xml (camt) or sta (MT940)"
        )


_POSITION = {
    "type": "object",
    "required": ["file", "digest", "rows"],
    "properties": {"file": {"type": "string"}, "digest": {"type": "string"}, "rows": {"type": "integer", "minimum": 0}},
    "additionalProperties": False,
}


class DropFolderStream(Stream):
    """Every waiting file, oldest first, record by record."""

    cursor_schema = {
        "description": 'the files finished and the one being read: {"done": [["name", "<SHA-256>"], ...], '
        '"current": {"file": "name", "digest": "<SHA-256>", "rows": N} or null}',
        "type": "object",
        "properties": {
            "done": {
                "type": "array",
                "items": {"type": "array", "prefixItems": [{"type": "string"}, {"type": "string"}], "minItems": 2, "maxItems": 2},
            },
            "current": {"anyOf": [{"type": "null"}, _POSITION]},
        },
        "additionalProperties": False,
    }

    def folder(self) -> Path:
        return self.connector.context.path(self.connector.settings["path"])

    def waiting(self) -> list[Path]:
        """The files to take, oldest first: not hidden (an upload under a dot name), and settled.

        A file copied in over a slow link is read as far as it has arrived; nothing is lost (its
        fingerprint changes, so the next run reads it again whole), but a row cut in half would
        be quarantined on the way. ``settle_seconds`` leaves a file that changed that recently
        for the next run.
        """
        folder = self.folder()
        files = sorted(
            ((p.stat().st_mtime_ns, p.name, p) for p in folder.glob(self.connector.settings.get("pattern", "*"))),
            key=lambda f: f[:2],
        )
        settle = float(self.connector.settings.get("settle_seconds", 0))
        changed_since = (time.time() - settle) * 1e9 if settle else float("inf")  # 0: take every file as it is
        return [p for mtime, _name, p in files if p.is_file() and not p.name.startswith(".") and mtime <= changed_since]

    def read(self, cursor: Cursor) -> Iterator[SourceRow]:
        saved = cursor.value or {}
        done = [tuple(x) for x in saved.get("done", [])]
        current = saved.get("current") or {}
        position = {"done": [list(x) for x in done], "current": None}
        cursor.advance(position)
        for path in self.waiting():
            digest = file_digest(path)
            if [path.name, digest] in position["done"]:
                continue  # finished before a crash; moved once this commit is acknowledged
            start = current.get("rows", 0) if (current.get("file"), current.get("digest")) == (path.name, digest) else 0
            position["current"] = {"file": path.name, "digest": digest, "rows": start}
            try:
                for n, line, data, problems in _rows(path, self.connector.settings, start):
                    position["current"]["rows"] = n
                    yield SourceRow(data, line, problems)
            except InputError as exc:
                self._move(path, "failed", reason=str(exc))
                position["current"] = None
                continue
            position["done"].append([path.name, digest])
            position["current"] = None

    def committed(self, cursor_value) -> None:
        for name, digest in (cursor_value or {}).get("done", []):
            path = self.folder() / name
            if path.is_file() and file_digest(path) == digest:
                self._move(path, "done")

    def _move(self, path: Path, where: str, reason: str | None = None) -> None:
        target_dir = self.folder() / where
        target_dir.mkdir(exist_ok=True)
        target = target_dir / path.name
        if target.exists():
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
            target = target_dir / f"{path.stem}.{stamp}{path.suffix}"
        shutil.move(str(path), target)
        if reason:
            target.with_name(target.name + ".reason.txt").write_text(reason + "\n", encoding="utf-8")


class DropFolder(Connector):
    """Watches a folder for new files."""

    name = "folder"
    title = "Drop folder (CSV, XLSX, JSONL, statements)"
    settings_schema = SETTINGS
    stream_class = DropFolderStream

    def check(self) -> str:
        folder = self.context.path(self.settings["path"])
        if not folder.is_dir():
            raise CheckFailed(f"{folder}: no such folder")
        n = len(DropFolderStream(None, self).waiting())
        return f"{folder}: {n} file(s) waiting"


@hookimpl
def hub_register_connectors(registry):
    registry.add(DropFolder)
