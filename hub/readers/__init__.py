"""Readers for the files associations actually export: CSV, XLSX and JSON Lines.

Each yields ``(line, row)`` pairs, where ``line`` is what a person finds in the file (a CSV
line number, a spreadsheet row number, a JSONL line number), and raises
:class:`~hub.errors.InputError` naming the file and line when the file itself is unreadable.
"""

from __future__ import annotations

from pathlib import Path

from hub.errors import InputError
from hub.readers.csv_file import CsvFile
from hub.readers.filekind import XLSX, kind_of
from hub.readers.jsonl_file import JsonlFile
from hub.readers.xlsx_file import XlsxFile

__all__ = ["CsvFile", "JsonlFile", "XlsxFile", "open_table"]


def open_table(path: Path, **options):
    """The reader for ``path`` by its extension: .csv/.txt, .xlsx/.xlsm, .jsonl/.ndjson/.json."""
    if path.is_dir():
        raise InputError(f"{path}: is a folder, not a file", hint="name one .csv, .xlsx or .jsonl file in it")
    suffix = path.suffix.lower()
    if suffix in (".csv", ".txt", ".tsv"):
        return CsvFile(path, **options)
    if suffix in (".xlsx", ".xlsm"):
        return XlsxFile(path, **options)
    if suffix in (".jsonl", ".ndjson", ".json"):
        return JsonlFile(path)
    kind = kind_of(path) if path.is_file() else None
    if kind is XLSX:
        return XlsxFile(path, **options)  # a workbook under another name ("….xlsx.download")
    if kind is not None:
        raise kind.refused(path, "not a .csv, .xlsx or .jsonl file, the ones the hub reads")
    raise InputError(
        f"{path}: cannot read files of type {suffix or '(none)'}",
        hint="use a .csv, .xlsx or .jsonl file",
    )
