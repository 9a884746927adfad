"""CSV as associations export it: any of , ; tab |, UTF-8 with or without BOM, or Windows-1256.

Encoding ``auto`` takes a BOM when there is one, else UTF-8 when the start of the file decodes
as UTF-8, else Windows-1256 (older Arabic Excel exports) or, for a Western bank's export,
Windows-1252, as the bytes show (hub.text.legacy). Header cells lose bidi marks and
surrounding spaces so that ``‏المبلغ `` and ``المبلغ`` are one column.
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import Iterator
from pathlib import Path

from hub.errors import InputError, RecordProblem
from hub.readers.filekind import kind_of
from hub.readers.header import check_unique
from hub.text.arabic import strip_marks
from hub.text.legacy import FILE_CUT_SHORT, cut_short, mostly_utf8, single_byte_encoding

__all__ = ["CsvFile"]

_SAMPLE = 65536
_DELIMITERS = (",", ";", "\t", "|")


def _detect_encoding(head: bytes) -> str:
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
        return "utf-8-sig"
    except UnicodeDecodeError:
        # A damaged UTF-8 file is read as UTF-8, so that the bad bytes stop it at their line.
        return "utf-8-sig" if mostly_utf8(head) else single_byte_encoding(head)


class CsvFile:
    """One CSV file: ``header`` and ``rows()``; settings as the csv connector takes them."""

    def __init__(
        self,
        path: Path,
        *,
        encoding: str = "auto",
        delimiter: str = "auto",
        skip_rows: int = 0,
    ) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise InputError.no_such_file(self.path)
        with self.path.open("rb") as f:
            head = f.read(_SAMPLE)
        kind = kind_of(self.path, head)
        if kind is not None:
            raise kind.refused(self.path, "not a CSV file")
        if encoding == "auto":
            encoding = _detect_encoding(head)
        elif encoding.replace("-", "").replace("_", "").lower() == "utf8":
            encoding = "utf-8-sig"
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise InputError(f"{self.path}: unknown encoding {encoding!r}") from None
        self.encoding = encoding
        self.skip_rows = skip_rows
        try:
            text = (
                head.decode(encoding, errors="strict")
                if len(head) < _SAMPLE
                else codecs.getincrementaldecoder(encoding)().decode(head, final=False)
            )
        except UnicodeDecodeError as exc:
            raise self._undecodable(head[: exc.start].count(b"\n") + 1, exc) from None
        lines = text.splitlines()
        if len(lines) <= skip_rows or not lines[skip_rows].strip():
            raise InputError(f"{self.path}: the file is empty or has no header row", hint="the first row must name the columns")
        if delimiter == "auto":
            first = lines[skip_rows]
            delimiter = max(_DELIMITERS, key=first.count)
        self.delimiter = delimiter
        self.header = self._read_header()

    def _line_of_undecodable(self) -> int | None:
        """The line holding the first byte the encoding cannot read, found by reading the bytes again.

        The text reader decodes ahead of the CSV reader, a chunk at a time, so the CSV reader's
        line is up to a chunk short of the fault. Counted for encodings where a newline is one
        byte; None for UTF-16, where the CSV reader's line has to do.
        """
        if codecs.lookup(self.encoding).name.startswith("utf-16"):
            return None
        decoder = codecs.getincrementaldecoder(self.encoding)()
        newlines = 0
        with self.path.open("rb") as f:
            while chunk := f.read(1 << 20):
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError as exc:
                    # exc.object: the bytes of a character the last chunk ended in, then this chunk.
                    return newlines + exc.object[: exc.start].count(b"\n") + 1
                newlines += chunk.count(b"\n")
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return newlines + 1
        return None

    def _undecodable(self, line: int, exc: UnicodeDecodeError) -> InputError:
        """The file at ``line`` is not text in its encoding: in another encoding, or cut short."""
        if cut_short(exc):
            return InputError(
                f"{self.path} line {line}: {FILE_CUT_SHORT}",
                hint="an interrupted copy or download? copy or export it again, then run again",
            )
        return InputError(
            f"{self.path} line {line}: the file is not valid {self.encoding.replace('-sig', '')}",
            hint="save it as UTF-8 (or mend that line, if it was pasted from another file), or set encoding: windows-1256 in the connection's settings",
        )

    def _open(self):
        return self.path.open("r", encoding=self.encoding, newline="", errors="strict")

    def _read_header(self) -> list[str]:
        with self._open() as f:
            reader = csv.reader(f, delimiter=self.delimiter)
            try:
                for _ in range(self.skip_rows):
                    next(reader)
                raw = next(reader)
            except (StopIteration, csv.Error) as exc:
                raise InputError(f"{self.path}: cannot read the header row ({exc})") from None
            except UnicodeDecodeError:
                raise InputError(f"{self.path}: the header is not valid {self.encoding}") from None
        header = [strip_marks(h) for h in raw]
        check_unique(header, f"{self.path} line {self.skip_rows + 1}", lambda i: f"column {i + 1}")
        return header

    def _overflow_problem(self, cells: int, width: int) -> RecordProblem:
        shown = {"\t": "tab", ",": "comma", ";": "semicolon", "|": "bar"}.get(self.delimiter, repr(self.delimiter))
        return RecordProblem(
            "(record)",
            "columns",
            f"the line has {cells} values where the header has {width} columns: a value holding a {shown} without quotes"
            f' around it ("1,000" rather than 1,000) moves every value after it one column on',
        )

    def rows(self, start_after: int = 0) -> Iterator[tuple]:
        """Yield ``(ordinal, line, row)`` for each data row after the first ``start_after`` rows.

        A row with more values than the header has columns comes as ``(ordinal, line, row,
        problems)``: its values cannot be told apart, so it is a bad record, kept whole.
        """
        header = self.header
        width = len(header)
        with self._open() as f:
            reader = csv.reader(f, delimiter=self.delimiter)
            n = line = 0  # line: where the last row read ended (a quoted cell may span lines)
            try:
                for _ in range(self.skip_rows + 1):
                    next(reader)
                line = reader.line_num
                for cells in reader:
                    n += 1
                    line = reader.line_num
                    if n <= start_after:
                        continue
                    if not cells or (not cells[0].strip() and not any(c.strip() for c in cells)):
                        # A blank line, or a row of empty cells: a spreadsheet saved as CSV writes
                        # ",,,," for every row that was formatted and left empty. Not a record,
                        # as an empty row of a workbook is not.
                        continue
                    if len(cells) == width:
                        yield n, line, dict(zip(header, cells))
                    else:
                        row = dict(zip(header, cells))
                        extra = cells[width:]
                        if any(c.strip() for c in extra):
                            # More values than columns: a delimiter inside a value without quotes
                            # (1,000 in a comma file) shifted every value after it one column on.
                            row["_overflow"] = extra
                            yield n, line, row, (self._overflow_problem(len(cells), width),)
                        else:
                            yield n, line, row  # empty cells after the last column: nothing lost
            except UnicodeDecodeError as exc:
                raise self._undecodable(self._line_of_undecodable() or reader.line_num + 1, exc) from None
            except csv.Error as exc:
                if "field larger than field limit" in str(exc) and reader.line_num == line + 1:
                    raise InputError(
                        f"{self.path} line {line + 1}: a cell there holds over {csv.field_size_limit():,} characters",
                        hint="no field of a record takes that much: is a whole document or image pasted into one cell?",
                    ) from None
                if "field larger than field limit" in str(exc):
                    raise InputError(
                        f"{self.path} line {line + 1}: a cell there runs on to line {reader.line_num}, "
                        f"past {csv.field_size_limit():,} characters",
                        hint='a quote (") opened in a cell and never closed makes the rest of the file one cell',
                    ) from None
                raise InputError(f"{self.path} line {reader.line_num}: {exc}") from None
