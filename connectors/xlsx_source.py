"""``xlsx``: a spreadsheet as a source (one sheet, read row by row) and as a destination.

As a source, cells are read as a person sees them (see hub.readers.xlsx_file): a merged cell
(a day or a governorate written once for a group of rows) gives its value to every row it covers.

As a destination it keeps one sheet per entity in the workbook at ``path``, a row per record
upserted by natural key, headers in English or Arabic (``headers: ar``, sheets right to left),
and every text cell neutralised so that a spreadsheet never runs a value as a formula.
"""

from __future__ import annotations

from hub import CheckFailed, Connector, InputError, TransientDeliveryError, WriteResult, hookimpl
from hub.filestreams import FileStream
from hub.readers import XlsxFile
from hub.readers.xlsx_file import UNREADABLE, unreadable_workbook
from hub.services.workbook import upsert_sheet

SETTINGS = {
    "type": "object",
    "additionalProperties": False,
    "required": ["path"],
    "properties": {
        "path": {"type": "string", "description": "The .xlsx file; relative to the config file's folder"},
        "sheet": {"type": "string", "description": "Sheet name (default: the first sheet)"},
        "skip_rows": {"type": "integer", "minimum": 0, "default": 0, "description": "Rows above the header row"},
        "headers": {"enum": ["en", "ar"], "default": "en", "description": "Destination: header language"},
    },
}


def _can_open(path) -> None:
    """Refuse, in words, a destination workbook that cannot be opened to be updated."""
    from openpyxl import load_workbook

    try:
        with path.open("rb") as f:
            load_workbook(f, read_only=True).close()
    except UNREADABLE as exc:
        raise CheckFailed(
            str(unreadable_workbook(path, exc, hint="move it aside (a new workbook is made) or put back a good copy"))
        ) from None


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

    def write(self, entity, deliveries):
        path = self.context.path(self.settings["path"])
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            upsert_sheet(path, entity, [d.record for d in deliveries], lang=self.settings.get("headers", "en"))
        except InputError as exc:
            # The workbook to update is damaged, or not one: not the records' fault, so not
            # their quarantine. They wait in the outbox until a person mends or moves the file.
            raise TransientDeliveryError(f"{exc.message}: {exc.hint}" if exc.hint else exc.message) from None
        return WriteResult()

    def check(self) -> str:
        if not self.context.streams:
            path = self.context.path(self.settings["path"])
            if path.is_file():
                _can_open(path)  # a workbook that cannot be read cannot be updated either
                return f"{path.name}: a workbook, writable"
            if path.parent.is_dir():
                return f"{path.name}: writable"
            raise CheckFailed(f"{path.parent}: no such folder")
        try:
            f = XlsxStream(None, self).open_file()
        except InputError as exc:
            raise CheckFailed(str(exc)) from None
        f.close()
        said = [f"{f.path.name}: {len(f.header)} columns"]
        if f.merged_cells:
            said.append(f"{f.merged_cells} merged range(s) in the data, each giving its value to every row it covers")
        if f.uncalculated:
            said.append(
                f"{f.uncalculated} formula cell(s) without a value (a program that does not calculate wrote the file): "
                "rows reading them are quarantined; open the file in a spreadsheet program and save it"
            )
        return "; ".join(said)


@hookimpl
def hub_register_connectors(registry):
    registry.add(XlsxSource)
