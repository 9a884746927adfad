"""``csv``: an association's own CSV export as a source.

Arabic or English headers, UTF-8 with or without BOM or Windows-1256, comma, semicolon, tab
or pipe; numbers and dates with Arabic-Indic digits are read by the mapping. Resumes after
the last committed row when a run is interrupted.
"""

from __future__ import annotations

from hub import CheckFailed, Connector, InputError, hookimpl
from hub.filestreams import FileStream
from hub.readers import CsvFile

SETTINGS = {
    "type": "object",
    "additionalProperties": False,
    "required": ["path"],
    "properties": {
        "path": {"type": "string", "description": "The CSV file; relative to the config file's folder"},
        "encoding": {"type": "string", "default": "auto", "description": "auto, utf-8, windows-1256, ..."},
        "delimiter": {"enum": ["auto", ",", ";", "\t", "|"], "default": "auto"},
        "skip_rows": {"type": "integer", "minimum": 0, "default": 0, "description": "Rows above the header row"},
    },
}


class CsvStream(FileStream):
    """The rows of the file, each a dict keyed by header."""

    def open_file(self) -> CsvFile:
        s = self.connector.settings
        return CsvFile(
            self.file_path(),
            encoding=s.get("encoding", "auto"),
            delimiter=s.get("delimiter", "auto"),
            skip_rows=s.get("skip_rows", 0),
        )


class CsvSource(Connector):
    """Reads one CSV file into one stream per configured entity (usually one)."""

    name = "csv"
    title = "CSV file"
    settings_schema = SETTINGS
    stream_class = CsvStream

    def check(self) -> str:
        try:
            f = CsvStream(None, self).open_file()
        except InputError as exc:
            raise CheckFailed(str(exc)) from None
        return f"{f.path.name}: {len(f.header)} columns, {f.encoding.replace('-sig', '')}, delimiter {f.delimiter!r}"


@hookimpl
def hub_register_connectors(registry):
    registry.add(CsvSource)
