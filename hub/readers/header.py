"""A header row's names, each once: a column named twice would hide one of its two values.

Rows become dicts by column name, so of two ``المبلغ`` columns only the second's value was
kept, without a word. Both readers refuse such a header, naming the column and where it is.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from hub.errors import InputError

__all__ = ["check_unique"]


def check_unique(header: Sequence[str], where: str, column_name: Callable[[int], str]) -> None:
    """InputError if a non-empty name comes twice; ``column_name(i)`` says where column ``i`` (0-based) is."""
    first: dict[str, int] = {}
    for i, name in enumerate(header):
        if not name:
            continue
        if name in first:
            raise InputError(
                f"{where}: column {name!r} appears twice ({column_name(first[name])} and {column_name(i)})",
                hint="rename one of them: a row can hold only one value under one name",
            )
        first[name] = i
