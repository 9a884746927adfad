"""Rows of a source that are not records: a totals row, a heading repeated mid-sheet, a note.

An accounting export ends with «المجموع» and the sum of the amounts; a bank's CSV opens with
its opening balance; a field team's workbook repeats its heading every page. Such a row fails
validation on every import, and a quarantine refilled each night with rows nobody will ever
correct hides the ones somebody should. A stream's ``skip`` rules name them::

    skip:
      - {column: التاريخ, equals: [المجموع, الإجمالي]}   # compared as a reader would: إ/ا, ة/ه, spaces
      - {column: البيان, matches: "^رصيد (افتتاحي|ختامي)"}  # a regular expression, searched in the cell
      - {column: [رقم الإيصال, المبلغ], empty: true}        # every column listed is blank

A row that meets any rule is skipped before mapping: counted in the run's ``skipped``, never
stored and never quarantined. A rule names columns of the source, as a mapping does, and a
run stops if one is not in the file: a misspelt column in an ``empty`` rule would otherwise
skip every row.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from hub.cells import cell_text
from hub.errors import ConfigError
from hub.text.arabic import matching_key

__all__ = ["SkipRules", "compile_skip_rules"]

_CONDITIONS = ("equals", "matches", "empty")


class SkipRules:
    """The compiled ``skip`` rules of one stream: call it with a source row to know if it is skipped."""

    def __init__(self, tests: list[Callable[[dict], bool]], columns: set[str]) -> None:
        self._tests = tuple(tests)
        self.columns = columns  # checked against the source's own columns before a run reads

    def __call__(self, row: dict) -> bool:
        for test in self._tests:
            if test(row):
                return True
        return False


def _as_list(value: str | list[str]) -> list[str]:
    return value if isinstance(value, list) else [value]


def _condition(rule: dict, where: str) -> Callable[[str | None], bool]:
    """What one rule asks of a cell's text (None when the cell is blank)."""
    given = [c for c in _CONDITIONS if c in rule]
    if len(given) != 1:
        raise ConfigError(
            f"{where}: give exactly one of equals, matches or empty",
            hint="two conditions on one column are two rules; a row is skipped when any rule holds",
        )
    if given[0] == "empty":
        return lambda text: text is None
    if given[0] == "equals":
        wanted = frozenset(matching_key(v) for v in _as_list(rule["equals"]))
        return lambda text: text is not None and matching_key(text) in wanted
    try:
        search = re.compile(rule["matches"]).search
    except re.error as exc:
        raise ConfigError(f"{where}.matches: {rule['matches']!r} is not a regular expression: {exc}") from None
    return lambda text: text is not None and search(text) is not None


def compile_skip_rules(rules: list[dict], *, where: str) -> SkipRules | None:
    """Compile a stream's ``skip`` list (its shape checked by the config schema); None when empty.

    ``where`` names the list in every error.
    """
    if not rules:
        return None
    tests, columns = [], set()
    for i, rule in enumerate(rules):
        names = _as_list(rule["column"])
        holds = _condition(rule, f"{where}[{i}]")
        columns.update(names)
        if len(names) == 1:
            tests.append(lambda row, name=names[0], holds=holds: holds(cell_text(row.get(name))))
        else:
            tests.append(lambda row, names=tuple(names), holds=holds: all(holds(cell_text(row.get(n))) for n in names))
    return SkipRules(tests, columns)
