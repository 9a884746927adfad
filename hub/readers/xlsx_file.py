"""XLSX read row by row (openpyxl read-only mode), so a large sheet never sits in memory.

Cell values become text as a person sees them: whole floats without ``.0``, small ones
without an exponent, dates in ISO 8601, so that one mapping serves a CSV and a spreadsheet
of the same export. A merged cell is seen across every row it covers (a date or a
governorate written once for a group of rows), so each of those rows gets its value.
"""

from __future__ import annotations

import re
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, time
from pathlib import Path
from xml.etree.ElementTree import ParseError
from xml.sax.saxutils import unescape

from hub.errors import InputError
from hub.readers.filekind import XLSX, ZIP, kind_of
from hub.readers.header import check_unique
from hub.readers.uncalculated import UncalculatedRow
from hub.text.arabic import strip_marks
from hub.text.numbers import float_text

__all__ = ["UNREADABLE", "XlsxFile", "cell_text", "unreadable_workbook"]


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


_MERGE = re.compile(rb'<(?:\w+:)?mergeCell\b[^>]*?\bref="([A-Z]{1,3})([0-9]{1,7}):([A-Z]{1,3})([0-9]{1,7})"')
# A formula cell with no value after it: <c r="B2"><f>A2*2</f><v /></c>. A workbook written by a
# program that does not calculate (a script, some ERP exports) leaves them so; a spreadsheet
# program fills the value in when it saves.
# (A formula whose value is empty text is written with t="str" and an empty <v>: that is a value.)
_UNCACHED_FORMULA = re.compile(
    rb"<(?:\w+:)?c\b([^>]*)>\s*"
    rb"<(?:\w+:)?f\b[^>]*?(?:/>|>([^<]*)</(?:\w+:)?f>)\s*"
    rb"(?:<(?:\w+:)?v\s*/>|<(?:\w+:)?v>\s*</(?:\w+:)?v>)?\s*</(?:\w+:)?c>"
)
_CELL_REF = re.compile(rb'\br="([A-Z]{1,3})([0-9]{1,7})"')
_OVERLAP = 8192  # bytes kept between chunks, longer than any element looked for


def _column_letter(index: int) -> str:
    """'column C' for the 0-based ``index`` 2, as the spreadsheet names it."""
    from openpyxl.utils import get_column_letter

    return f"column {get_column_letter(index + 1)}"


def _column_number(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ch - 64
    return n


def scan_sheet(path: Path, member: str) -> tuple[list[tuple[int, int, int, int]], dict[tuple[int, int], str]]:
    """What read-only mode does not give, from one scan of the sheet's XML as it is inflated.

    - merged ranges, as ``(first row, first column, last row, last column)``, 1-based: openpyxl's
      read-only mode, which keeps a large sheet out of memory, does not read them;
    - formulas the workbook carries no value for, by ``(row, column)``: read-only mode gives
      None for them, which a mapping then calls a missing value.

    Nothing is parsed or kept but those elements; on a sheet without formulas the formula
    pattern is not even tried.
    """
    merges, formulas = set(), {}
    with zipfile.ZipFile(path) as book, book.open(member) as xml:
        tail = b""
        for chunk in iter(lambda: xml.read(1 << 20), b""):
            buf = tail + chunk
            for m in _MERGE.finditer(buf):
                c1, r1, c2, r2 = m.groups()
                merges.add((int(r1), _column_number(c1), int(r2), _column_number(c2)))
            if b"<f" in buf or b":f" in buf:
                for m in _UNCACHED_FORMULA.finditer(buf):
                    attributes, text = m.groups()
                    ref = _CELL_REF.search(attributes)
                    if ref is None or b't="str"' in attributes:
                        continue
                    col, row = ref.groups()
                    formulas[(int(row), _column_number(col))] = "=" + (unescape(text.decode("utf-8"), _XML_QUOTES) if text else "…")
            tail = buf[-_OVERLAP:]
    return sorted(merges), formulas


_XML_QUOTES = {"&quot;": '"', "&apos;": "'"}


class XlsxFile:
    """One sheet of a workbook: ``header`` and ``rows()``."""

    def __init__(self, path: Path, *, sheet: str | None = None, skip_rows: int = 0, **_ignored) -> None:
        import openpyxl  # imported here: only spreadsheet users pay for it

        self.path = Path(path)
        if not self.path.is_file():
            raise InputError.no_such_file(self.path)
        # Opened here and handed over as a file, so that openpyxl judges the content, not the
        # name: a workbook saved as "تبرعات.xlsx.download" is still read, and a file that is
        # not one is named for what it is (hub.readers.filekind).
        self._file = self.path.open("rb")
        try:
            self._wb = openpyxl.load_workbook(self._file, read_only=True, data_only=True)
        except (OSError, *UNREADABLE) as exc:
            self._file.close()
            raise unreadable_workbook(self.path, exc) from None
        if sheet is not None and sheet not in self._wb.sheetnames:
            self.close()
            raise InputError(f"{self.path}: no sheet named {sheet!r}", hint=f"sheets: {', '.join(self._wb.sheetnames)}")
        self._ws = self._wb[sheet] if sheet else self._wb.worksheets[0]
        self.skip_rows = skip_rows
        header_row = None
        with self._reading(None):
            for i, values in enumerate(self._ws.iter_rows(values_only=True), start=1):
                if i == skip_rows + 1:
                    header_row = values
                    break
        if not header_row or all(v is None for v in header_row):
            raise InputError(f"{self.path}: the sheet {self._ws.title!r} is empty or has no header row")
        self.header = [strip_marks(cell_text(v) or "") for v in header_row]
        check_unique(self.header, f"{self.path} sheet {self._ws.title!r} row {skip_rows + 1}", _column_letter)
        member = getattr(self._ws, "_worksheet_path", None)
        with self._reading(None):
            merges, formulas = scan_sheet(self.path, member) if member else ([], {})
        first_data_row = skip_rows + 2
        # Only merges within the data: a title merged across the columns above the header is not a value.
        self._merged: dict[int, list[tuple[int, int, int, int]]] = {}  # row -> the merges covering it
        for m in merges:
            if m[0] >= first_data_row:
                for r in range(m[0], m[2] + 1):
                    self._merged.setdefault(r, []).append(m)
        # A formula without its value is shown as the formula ("=B2*C2") in an UncalculatedRow:
        # a mapping then says "'=B2*C2' is a formula …" rather than that the value is missing.
        self._formulas: dict[int, list[tuple[int, str]]] = {}
        for (r, c), text in formulas.items():
            if r >= first_data_row:
                self._formulas.setdefault(r, []).append((c, text))
        # A merge whose first cell is such a formula spreads the formula, not a value: every
        # cell it covers is marked as the first one is.
        self._merged_formulas: dict[tuple[int, int], str] = {
            (m[0], m[1]): formulas[(m[0], m[1])] for ranges in self._merged.values() for m in ranges if (m[0], m[1]) in formulas
        }
        # What ``hub check`` tells before a run: counts of the above, within the data.
        self.merged_cells = len({m for ranges in self._merged.values() for m in ranges})
        self.uncalculated = sum(len(cells) for cells in self._formulas.values())

    def rows(self, start_after: int = 0) -> Iterator[tuple[int, int, dict]]:
        """Yield ``(ordinal, row number, row)`` for each non-empty data row after the first ``start_after``."""
        first = self.skip_rows + 2
        read = [first - 1]  # the last row read, for the message if the sheet breaks off after it
        with self._reading(read):
            yield from self._rows(start_after, first, read)

    def _rows(self, start_after: int, first: int, read: list[int]) -> Iterator[tuple[int, int, dict]]:
        header = self.header
        n = 0
        merged = self._merged
        spread: dict[tuple[int, int], object] = {}  # a merge's top-left cell -> the value it shows
        formulas = self._formulas
        for rownum, values in enumerate(self._ws.iter_rows(min_row=first, values_only=True), start=first):
            read[0] = rownum
            uncalculated = None
            if rownum in formulas:
                values, uncalculated = self._with_formulas(values, formulas[rownum], header)
            if rownum in merged:
                values = self._fill(rownum, values, merged[rownum], spread)
                if values is not None and self._merged_formulas:
                    uncalculated = self._spread_formulas(merged[rownum], header, uncalculated)
            if values is None or all(v is None for v in values):
                continue
            n += 1
            if n <= start_after:
                continue
            row = {h: cell_text(v) for h, v in zip(header, values) if h}
            yield n, rownum, UncalculatedRow(row, uncalculated) if uncalculated else row

    @staticmethod
    def _with_formulas(values: tuple, cells: list[tuple[int, str]], header: list[str]) -> tuple[tuple, dict[str, str]]:
        """``values`` with each formula that has no value written as its text, and those cells by column name."""
        row, shown = list(values), {}
        for c, text in cells:
            if c > len(row):
                row.extend([None] * (c - len(row)))
            if row[c - 1] is None:
                row[c - 1] = text
                if c <= len(header) and header[c - 1]:
                    shown[header[c - 1]] = text
        return tuple(row), shown

    def _spread_formulas(self, merged: list[tuple[int, int, int, int]], header: list[str], shown: dict[str, str] | None) -> dict | None:
        """``shown`` with the cells of each merge whose first cell is a formula without a value."""
        for r1, c1, _r2, c2 in merged:
            text = self._merged_formulas.get((r1, c1))
            if text is not None:
                shown = dict(shown or {})
                shown.update((header[c - 1], text) for c in range(c1, min(c2, len(header)) + 1) if header[c - 1])
        return shown

    @staticmethod
    def _fill(rownum: int, values: tuple, merged: list[tuple[int, int, int, int]], spread: dict) -> tuple | None:
        """``values`` with each merged cell showing its range's value; None for a row empty as written.

        A row is judged empty before filling: one that only a merge reaches is not a record.
        """
        if all(v is None for v in values):
            return None
        row = list(values)
        for r1, c1, _r2, c2 in merged:
            if rownum == r1:
                spread[(r1, c1)] = row[c1 - 1] if c1 <= len(row) else None
            shown = spread.get((r1, c1))
            if c2 > len(row):
                row.extend([None] * (c2 - len(row)))
            for c in range(c1, c2 + 1):
                row[c - 1] = shown
        return tuple(row)

    def close(self) -> None:
        """Close the workbook's file."""
        self._wb.close()
        self._file.close()

    @contextmanager
    def _reading(self, read: list[int] | None):
        """A sheet whose compressed data or XML is damaged, said as such instead of as a zip or XML error."""
        try:
            yield
        except _DAMAGED as exc:
            where = f" after row {read[0]}" if read and read[0] > self.skip_rows + 1 else ""
            raise InputError(
                f"{self.path}: the workbook is damaged: sheet {self._ws.title!r} cannot be read{where} ({_in_words(exc)})",
                hint=_REPAIR,
            ) from None


_CONTROL = re.compile(rb"[\x00-\x08\x0e-\x1f]")  # bytes no text file holds
_REPAIR = "an interrupted copy or download? copy it again; or open it in a spreadsheet program, which may repair it, and save it again"
_DAMAGED: tuple[type[Exception], ...] = (zipfile.BadZipFile, zlib.error, EOFError, ParseError)
# What opening a file that is not a whole workbook raises (a part missing: KeyError; bad values: ValueError).
UNREADABLE: tuple[type[Exception], ...] = (*_DAMAGED, KeyError, ValueError)


def unreadable_workbook(path: Path, exc: Exception, hint: str = _REPAIR) -> InputError:
    """Why ``path`` could not be opened as a workbook, in words: what it is instead, and what to do."""
    if path.stat().st_size == 0:
        return InputError(f"{path}: the file is empty (0 bytes)", hint="export or copy it again")
    kind = kind_of(path)
    if kind is XLSX or (kind is ZIP and isinstance(exc, zipfile.BadZipFile)):
        return InputError(f"{path}: the workbook is damaged or cut short ({_in_words(exc)})", hint=hint)
    if kind is not None:
        return kind.refused(path, "not an .xlsx workbook")
    with path.open("rb") as f:
        head = f.read(4096)
    if not _CONTROL.search(head):
        return InputError(
            f"{path}: this is a text file, not an .xlsx workbook",
            hint="a CSV file under another name? name it .csv and read it with connector: csv",
        )
    return InputError(f"{path}: not a readable .xlsx workbook ({_in_words(exc)})", hint=hint)


def _in_words(exc: Exception) -> str:
    """A zip or XML error as what it means for the workbook; the library's words in brackets."""
    if isinstance(exc, zipfile.BadZipFile) and "CRC" in str(exc):
        return f"a part of it does not match its checksum: {exc}"
    if isinstance(exc, zipfile.BadZipFile):
        return f"its zip index is missing or broken: {exc}"
    if isinstance(exc, (zlib.error, EOFError)):
        return f"a part of it cannot be decompressed: {exc}"
    if isinstance(exc, ParseError):
        return f"its XML is not well-formed: {exc}"
    if isinstance(exc, KeyError):
        return f"a part every workbook has is missing: {exc}"
    return f"{type(exc).__name__}: {exc}"
