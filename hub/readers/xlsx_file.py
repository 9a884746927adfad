"""XLSX read row by row (openpyxl read-only mode), so a large sheet never sits in memory.

Cell values become text as a person sees them: whole floats without ``.0``, small ones
without an exponent, dates in ISO 8601, so that one mapping serves a CSV and a spreadsheet
of the same export.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from datetime import date, datetime, time
from pathlib import Path

from hub.errors import InputError
from hub.text.arabic import strip_marks
from hub.text.numbers import float_text

__all__ = ["XlsxFile", "cell_text"]


def cell_text(v) -> str | None:
    """A cell's value as text; None for an empty cell."""
    if v is None:
        return None
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return float_text(v)
    if isinstance(v, datetime):
        return v.isoformat() if (v.hour, v.minute, v.second, v.microsecond) != (0, 0, 0, 0) else v.date().isoformat()
    if isinstance(v, (date, time)):
        return v.isoformat()
    return str(v)


class XlsxFile:
    """One sheet of a workbook: ``header`` and ``rows()``."""

    def __init__(self, path: Path, *, sheet: str | None = None, skip_rows: int = 0, **_ignored) -> None:
        import openpyxl  # imported here: only spreadsheet users pay for it

        self.path = Path(path)
        if not self.path.is_file():
            raise InputError.no_such_file(self.path)
        try:
            self._wb = openpyxl.load_workbook(self.path, read_only=True, data_only=True)
        except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
            raise InputError(
                f"{self.path}: not a readable .xlsx workbook ({type(exc).__name__})",
                hint="open it in a spreadsheet program and save it again as .xlsx",
            ) from None
        if sheet is not None and sheet not in self._wb.sheetnames:
            raise InputError(f"{self.path}: no sheet named {sheet!r}", hint=f"sheets: {', '.join(self._wb.sheetnames)}")
        self._ws = self._wb[sheet] if sheet else self._wb.worksheets[0]
        self.skip_rows = skip_rows
        header_row = None
        for i, values in enumerate(self._ws.iter_rows(values_only=True), start=1):
            if i == skip_rows + 1:
                header_row = values
                break
        if not header_row or all(v is None for v in header_row):
            raise InputError(f"{self.path}: the sheet {self._ws.title!r} is empty or has no header row")
        self.header = [strip_marks(cell_text(v) or "") for v in header_row]

    def rows(self, start_after: int = 0) -> Iterator[tuple[int, int, dict]]:
        """Yield ``(ordinal, row number, row)`` for each non-empty data row after the first ``start_after``."""
        header = self.header
        n = 0
        first = self.skip_rows + 2
        for rownum, values in enumerate(self._ws.iter_rows(min_row=first, values_only=True), start=first):
            if all(v is None for v in values):
                continue
            n += 1
            if n <= start_after:
                continue
            yield n, rownum, {h: cell_text(v) for h, v in zip(header, values) if h}

    def close(self) -> None:
        """Close the workbook's file."""
        self._wb.close()
