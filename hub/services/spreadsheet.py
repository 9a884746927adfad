"""Writing tables people open in a spreadsheet: XLSX or CSV, with formulas neutralised.

A value starting with ``=``, ``+``, ``-`` or ``@`` (or a tab or CR) would be run as a formula
by Excel or LibreOffice; such text cells get a leading apostrophe. CSV is written as UTF-8
with a BOM so that Excel shows Arabic correctly.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from pathlib import Path

from hub.errors import InputError

__all__ = ["neutralise", "write_table"]

_DANGEROUS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value):
    """``value`` safe to put in a spreadsheet cell (numbers pass unchanged)."""
    if isinstance(value, str) and value.startswith(_DANGEROUS):
        try:
            float(value)
            return value  # a negative number written as text is not a formula
        except ValueError:
            return "'" + value
    return value


def write_table(path: Path, header: Sequence[str], rows: Iterable[Sequence], *, sheet: str = "data", rtl: bool = False) -> int:
    """Write ``rows`` under ``header`` to ``path`` (.xlsx or .csv); returns the row count."""
    suffix = path.suffix.lower()
    n = 0
    if suffix == ".xlsx":
        from openpyxl import Workbook

        wb = Workbook(write_only=True)
        ws = wb.create_sheet(sheet[:31])
        if rtl and hasattr(ws, "sheet_view"):
            ws.sheet_view.rightToLeft = True
        ws.append([neutralise(h) for h in header])
        for row in rows:
            ws.append([neutralise(v) for v in row])
            n += 1
        wb.save(path)
        return n
    if suffix == ".csv":
        with path.open("w", encoding="utf-8-sig", newline="") as f:
            w = csv.writer(f)
            w.writerow([neutralise(h) for h in header])
            for row in rows:
                w.writerow([neutralise(v) for v in row])
                n += 1
        return n
    raise InputError(f"{path}: write .xlsx or .csv", hint="name the file with one of those extensions")
