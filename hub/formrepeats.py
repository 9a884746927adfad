"""One row per entry of a form's repeat group, for the form connectors' ``repeat:`` setting.

A distribution form often records a household once and what it received in a repeat group:
one entry per item (flour, 2 bags; oil, 1 can). The common schema's distribution is one item
given, so with ``repeat: items`` the ``kobo`` and ``odk`` connectors give one row per entry:
the submission's own columns, the entry's under ``items/...`` (the path ODK and Kobo write),
and ``items/_index`` (1, 2, ...), so that a mapping can give each entry an id of its own
(``id: {columns: [_uuid, items/_index], join: "-"}``). Other repeats of the form, and repeats
inside an entry, are left out of the rows: a row is one entry of one repeat.

A submission with no entry in the repeat gives no row: nothing was handed out. The connector
counts these and says so in its log, so that a form sent empty by mistake is seen.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator

from hub.errors import ConnectorError
from hub.sdk import SourceRow

__all__ = ["INDEX", "SETTING", "SubmissionRows", "entry_rows"]

INDEX = "_index"  # the entry's place in its repeat, 1 first, as the column "{repeat}/_index"

# The setting both form connectors take, in their settings schema.
SETTING = {
    "type": "string",
    "minLength": 1,
    "pattern": r"^[^/\s](?:\S*[^/\s])?$",
    "description": "A repeat group's path (items, or distribution/items): one row per entry of it, "
    "with the submission's columns, instead of one row per submission",
}


def entry_rows(row: dict, repeat: str, entries: object, columns: Callable[[dict], dict], where: str) -> list[dict]:
    """The rows of one submission's entries in ``repeat``: its columns, each entry's, and the entry's index.

    ``row`` is the submission as columns, ``entries`` what the form sent under the repeat's
    path (``None`` when the submission has no entry), and ``columns`` turns one entry into
    columns named under the repeat (``items/item``). A value that is not a list of entries
    means the setting names something other than a repeat: the run stops and says which.
    """
    if entries is None:
        return []
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise ConnectorError(
            f"{where} has {repeat!r} as a {type(entries).__name__}, not a repeat group's entries",
            hint="the connection's repeat setting names a repeat group of the form (its path, e.g. items or distribution/items)",
        )
    base = {k: v for k, v in row.items() if not isinstance(v, list)}  # other repeats: not this row's
    out = []
    for n, entry in enumerate(entries, start=1):
        cells = {k: v for k, v in columns(entry).items() if not isinstance(v, list)}  # repeats inside an entry
        out.append({**base, **cells, f"{repeat}/{INDEX}": n})
    return out


class SubmissionRows:
    """The rows a form connector yields: each submission whole, or with ``repeat`` one per entry.

    Counts the submissions that had no entry, for the one warning the read ends with.
    """

    def __init__(self, connector: str, repeat: str | None, columns: Callable[[dict], dict], log: logging.Logger) -> None:
        self.connector, self.repeat, self.columns, self.log = connector, repeat, columns, log
        self.empty = 0

    def of(self, row: dict, line: int, submission: object) -> Iterator[SourceRow]:
        """The rows of one submission (``submission`` names it in an error), each numbered ``line``."""
        if not self.repeat:
            yield SourceRow(row, line)
            return
        where = f"{self.connector}: submission {submission}"
        entries = entry_rows(row, self.repeat, row.get(self.repeat), self.columns, where)
        self.empty += not entries
        for entry in entries:
            yield SourceRow(entry, line)

    def done(self) -> None:
        """Say how many submissions gave no row, having no entry in the repeat."""
        if self.empty:
            self.log.warning(f"{self.connector}: {self.empty} submission(s) had no entry in {self.repeat!r}, so gave no row")
