"""``xlsx``: a spreadsheet (one sheet) as a source, read row by row without loading the workbook."""

from __future__ import annotations

from hub import CheckFailed, Connector, InputError, hookimpl
from hub.filestreams import FileStream
from hub.readers import XlsxFile

SETTINGS = {
    "type": "object",
    "additionalProperties": False,
    "required": ["path"],
    "properties": {
        "path": {"type": "string", "description": "The .xlsx file; relative to the config file's folder"},
        "sheet": {"type": "string", "description": "Sheet name (default: the first sheet)"},
        "skip_rows": {"type": "integer", "minimum": 0, "default": 0, "description": "Rows above the header row"},
    },
}


class XlsxStream(FileStream):
    """The rows of one sheet (a stream's ``options.sheet`` overrides the connection's)."""

    def open_file(self) -> XlsxFile:
        s = self.connector.settings
        sheet = (self.config.options.get("sheet") if self.config else None) or s.get("sheet")
        return XlsxFile(self.file_path(), sheet=sheet, skip_rows=s.get("skip_rows", 0))


class XlsxSource(Connector):
    """Reads a sheet of an .xlsx workbook."""

    name = "xlsx"
    title = "Excel workbook"
    settings_schema = SETTINGS
    stream_class = XlsxStream

    def check(self) -> str:
        try:
            f = XlsxStream(None, self).open_file()
        except InputError as exc:
            raise CheckFailed(str(exc)) from None
        f.close()
        return f"{f.path.name}: {len(f.header)} columns"


@hookimpl
def hub_register_connectors(registry):
    registry.add(XlsxSource)
