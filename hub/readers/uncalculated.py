"""A spreadsheet row holding formulas the workbook carries no value for.

A workbook written by a program that does not calculate (a script, some ERP exports) keeps
a formula's text but no value for it; read-only openpyxl gives None there, which a mapping
took for an empty cell: an optional field silently dropped, a required one called missing,
and nothing said about why. The reader yields such a row as an :class:`UncalculatedRow`: its
cells hold the formula text (so the quarantine shows what is there), and the mapping refuses
a field that would be read from one, saying what to do.
"""

from __future__ import annotations

__all__ = ["UncalculatedRow", "formula_key_message", "formula_message"]


class UncalculatedRow(dict):
    """A row dict whose ``formulas`` columns hold formula text instead of values."""

    __slots__ = ("formulas",)

    def __init__(self, row: dict, formulas: dict[str, str]) -> None:
        super().__init__(row)
        self.formulas = formulas

    def __reduce__(self):  # a plain dict's pickling would lose ``formulas`` (forked readers send rows)
        return (UncalculatedRow, (dict(self), self.formulas))


def formula_message(text: str) -> str:
    """The words for a field whose cell is a formula without its value."""
    return (
        f"{text!r} is a formula whose value the file does not carry (the program that wrote it does not calculate); "
        "open the file in a spreadsheet program and save it, which fills the values in"
    )


def formula_key_message(text: str) -> str:
    """The words for a key that is a formula's text (a replayed entry no longer carries the row's marker)."""
    return f"{text!r} is a spreadsheet formula, not its value; open the file in a spreadsheet program and save it (or export the values), then read it again"
