"""Writing tables people open in a spreadsheet: XLSX or CSV, with formulas neutralised.

A value starting with ``=``, ``+``, ``-`` or ``@`` (or a tab or CR) would be run as a formula
by Excel or LibreOffice; such text cells get a leading apostrophe. CSV is written as UTF-8
with a BOM so that Excel shows Arabic correctly. An XLSX cell cannot hold the control
characters XML forbids, which a source's text (a quarantined row above all) may carry: they
are shown as line breaks (vertical tab, form feed) or as U+FFFD, never a failed report.
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import re
import secrets
from collections.abc import Iterable, Sequence
from pathlib import Path

from hub.errors import InputError

__all__ = ["FORMULA_STARTS", "neutralise", "save_bytes", "save_workbook", "write_table", "xlsx_cell"]

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# What XML 1.0 (so XLSX) cannot hold: the C0 controls but tab, line feed and carriage return.
_NOT_IN_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")
_EXACT_IN_A_SHEET = 10**15  # whole numbers below this in size keep every digit in a spreadsheet


def neutralise(value):
    """``value`` safe to put in a spreadsheet cell (numbers pass unchanged)."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        try:
            float(value)
            return value  # a negative number written as text is not a formula
        except ValueError:
            return "'" + value
    return value


def _shown(match: re.Match) -> str:
    return "\n" if match.group() in "\x0b\x0c" else "\ufffd"


def xlsx_cell(value):
    """``value`` as an XLSX cell takes it: neutralised, without characters XML forbids, every digit kept.

    A spreadsheet keeps 15 significant digits of a number: a longer whole number (an account,
    a card, a national id sent as a number) is written as its text, so no digit is lost.
    """
    if isinstance(value, int) and not -_EXACT_IN_A_SHEET < value < _EXACT_IN_A_SHEET:
        return str(value)
    value = neutralise(value)
    if isinstance(value, str):
        return _NOT_IN_XML.sub(_shown, value)
    return value


def save_workbook(wb, path: Path) -> None:
    """Save ``wb`` to ``path`` whole or not at all: written beside it, then moved into place.

    A report is never left half-written, and a path the file system refuses (a name too long,
    a folder not writable, a full disk) fails as an OSError naming ``path``. The workbook is
    made in memory and written in one go: openpyxl, failing mid-save to a file, would leave its
    zip file and its sheets' writers to complain with tracebacks as they are collected.
    """
    made = io.BytesIO()
    wb.save(made)
    save_bytes(made.getbuffer(), path)


def save_bytes(data: bytes | memoryview, path: Path) -> None:
    """Write ``data`` to ``path`` whole or not at all (beside it, then moved); OSError naming ``path``."""
    tmp = path.with_name(f".wasl-{secrets.token_hex(6)}{path.suffix}")
    try:
        # Created as any file the hub writes (the umask decides who may read it), not private to
        # its owner as a temporary file would be: a destination workbook is there to be shared.
        with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except OSError as exc:
        raise OSError(exc.errno, exc.strerror, str(path)) from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


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
        ws.append([xlsx_cell(h) for h in header])
        for row in rows:
            ws.append([xlsx_cell(v) for v in row])
            n += 1
        save_workbook(wb, path)
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
