"""``jsonl``: JSON Lines files, as a source (one object a line) and as a destination.

As a destination it appends each delivered record to ``<folder>/<entity>.jsonl``. A record
version already in the file (same entity, key and content) is not written again, so a batch
delivered twice after a crash leaves one line per version.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path

import orjson

from hub import CheckFailed, Connector, Delivery, InputError, WriteResult, hookimpl
from hub.filestreams import FileStream
from hub.readers import JsonlFile
from hub.schema import entity_key

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
            if target.exists():
                with target.open("rb") as f:
                    for line in f:
                        if line.strip():
                            try:
                                seen.add(_version_id(entity, orjson.loads(line)))
                            except orjson.JSONDecodeError:
                                continue
            self._written[entity] = seen
        return self._written[entity]

    def write(self, entity: str, deliveries: Sequence[Delivery]) -> WriteResult:
        target = self._target(entity)
        seen = self._already(entity, target)
        lines = []
        for d in deliveries:
            vid = _version_id(entity, d.record)
            if vid in seen:
                continue
            seen.add(vid)
            lines.append(orjson.dumps(d.record, option=orjson.OPT_SORT_KEYS) + b"\n")
        if lines:
            with target.open("ab") as f:
                f.writelines(lines)
                f.flush()
                os.fsync(f.fileno())
        return WriteResult()


@hookimpl
def hub_register_connectors(registry):
    registry.add(Jsonl)
