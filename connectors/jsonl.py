"""``jsonl``: JSON Lines files, as a source (one object a line) and as a destination.

As a destination it appends each delivered record to ``<folder>/<entity>.jsonl``. A record
version already in the file (same entity, key and content) is not written again, so a batch
delivered twice after a crash leaves one line per version. A batch is appended whole or not
at all: a write the disk refuses (full, failing) is cut off again, and the batch waits in the
outbox for a retry; a last line a killed process left unfinished is removed before the next.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
from collections.abc import Sequence
from pathlib import Path

import orjson

from hub import CheckFailed, Connector, Delivery, InputError, WriteResult, hookimpl
from hub.filestreams import FileStream
from hub.readers import JsonlFile
from hub.schema import entity_key

log = logging.getLogger(__name__)

SETTINGS = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "path": {"type": "string", "description": "Source: the .jsonl file to read"},
        "folder": {"type": "string", "description": "Destination: folder receiving <entity>.jsonl files"},
    },
    "anyOf": [{"required": ["path"]}, {"required": ["folder"]}],
}


def _version_id(entity: str, record: dict) -> str:
    key = "|".join(str(record.get(f, "")) for f in entity_key(entity))
    body = orjson.dumps(record, option=orjson.OPT_SORT_KEYS)
    return f"{key}:{hashlib.blake2b(body, digest_size=16).hexdigest()}"


class JsonlStream(FileStream):
    """Each line's object; a line that is not JSON becomes a quarantined record."""

    def open_file(self) -> JsonlFile:
        return JsonlFile(self.file_path())

    def columns(self) -> None:
        return None


class Jsonl(Connector):
    """Reads a JSONL file, or appends delivered records to one file per entity."""

    name = "jsonl"
    title = "JSON Lines files"
    settings_schema = SETTINGS
    stream_class = JsonlStream

    def __init__(self, settings, context):
        super().__init__(settings, context)
        self._written: dict[str, set[str]] = {}

    def check(self) -> str:
        if "path" in self.settings:
            p = self.context.path(self.settings["path"])
            if not p.is_file():
                raise CheckFailed(f"{p}: no such file")
            return f"{p.name}: readable"
        folder = self.context.path(self.settings["folder"])
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CheckFailed(f"{folder}: cannot create the folder ({exc.strerror})") from None
        if not os.access(folder, os.W_OK):
            raise CheckFailed(f"{folder}: not writable")
        return f"{folder}: writable"

    def streams(self):
        if "path" not in self.settings:
            return []
        return super().streams()

    def _target(self, entity: str) -> Path:
        if "folder" not in self.settings:
            raise InputError(f"connections.{self.context.connection}.settings.folder is needed to write")
        folder = self.context.path(self.settings["folder"])
        folder.mkdir(parents=True, exist_ok=True)
        return folder / f"{entity}.jsonl"

    def _already(self, entity: str, target: Path) -> set[str]:
        if entity not in self._written:
            seen = set()
            if target.is_file():
                end, tail = 0, b""  # where the last complete line ends, and what follows it
                with target.open("rb") as f:
                    for line in f:
                        if not line.endswith(b"\n"):
                            tail = line
                            break
                        end += len(line)
                        if line.strip():
                            try:
                                seen.add(_version_id(entity, orjson.loads(line)))
                            except orjson.JSONDecodeError:
                                continue
                if tail:
                    _finish_last_line(target, end, tail, entity, seen)
            self._written[entity] = seen
        return self._written[entity]

    def write(self, entity: str, deliveries: Sequence[Delivery]) -> WriteResult:
        target = self._target(entity)
        seen = self._already(entity, target)
        lines, new = [], set()
        for d in deliveries:
            vid = _version_id(entity, d.record)
            if vid in seen or vid in new:
                continue
            new.add(vid)
            lines.append(orjson.dumps(d.record, option=orjson.OPT_SORT_KEYS) + b"\n")
        if lines:
            try:
                _append_whole(target, b"".join(lines))
            except OSError as exc:  # the batch waits in the outbox for a retry (hub.pipeline.deliver)
                raise OSError(exc.errno, exc.strerror, str(target)) from None
        seen |= new
        return WriteResult()


def _append_whole(target: Path, data: bytes) -> None:
    """Append ``data`` and sync it, or leave the file as it was: a refused write is cut off again.

    A full disk may take part of a batch before it refuses the rest; the half line it took
    would otherwise run into the next batch's first line, spoiling both for every reader.
    """
    fd = os.open(target, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        start = os.lseek(fd, 0, os.SEEK_END)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        except OSError:
            with contextlib.suppress(OSError):  # a disk refusing even this: the next write's check removes a half line
                os.ftruncate(fd, start)
            raise
    finally:
        os.close(fd)


def _finish_last_line(target: Path, end: int, tail: bytes, entity: str, seen: set[str]) -> None:
    """Deal with ``tail``, a last line without a newline from ``end`` on, before anything is appended after it.

    A record a person wrote by hand without the final newline is kept, and the newline added.
    Anything else is what a write cut short by a killed process left: its batch was never
    marked delivered and will be written again, so the fragment is removed.
    """
    try:
        record = orjson.loads(tail)
    except orjson.JSONDecodeError:
        record = None
    if isinstance(record, dict):
        _append_whole(target, b"\n")
        seen.add(_version_id(entity, record))
        return
    log.warning("%s: removed an unfinished last line of %d bytes, left by a write that was cut short", target, len(tail))
    with target.open("r+b") as f:
        f.truncate(end)


@hookimpl
def hub_register_connectors(registry):
    registry.add(Jsonl)
