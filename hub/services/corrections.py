"""Reading back a correction sheet: what an association corrected in ``hub quarantine export``'s file.

The export hands an association its refused rows as they were sent, each beside its errors in
plain words; their accountant corrects the cells in Excel and sends the file back. Each row
names its quarantine entry; the cells that differ from what the sheet was given are that
entry's corrections, replayed as ``hub quarantine replay --set`` would, all at once. A cell
left as it was changes nothing, so a sheet may be sent back with only some rows corrected,
and a row whose entry has been settled since is reported, never applied twice.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hub.app import Hub
from hub.cells import cell_text
from hub.errors import InputError, NotFoundError
from hub.readers import JsonlFile, open_table
from hub.services.quarantine import SHEET_HEADS, replay, sheet_cell
from hub.services.spreadsheet import FORMULA_STARTS, neutralise
from hub.store import quarantine as q_store

__all__ = ["read_corrections"]

_ID_HEADS = {heads[0] for heads in SHEET_HEADS.values()}
_OWN_HEADS = {head for heads in SHEET_HEADS.values() for head in heads}


def _as_given(value: Any) -> str | None:
    """The text a reader finds in the cell the export wrote for a raw ``value``."""
    return cell_text(neutralise(sheet_cell(value)))


def _as_corrected(text: str | None) -> str:
    """A corrected cell's text as the row's new value: the export's protective apostrophe taken off."""
    if text is None:
        return ""
    return text[1:] if text.startswith("'") and text[1:].startswith(FORMULA_STARTS) else text


def read_corrections(
    hub: Hub, path: Path, *, apply: bool = True, actor: str = "cli", connections: list[str] | None = None
) -> dict[str, Any]:
    """Each corrected row of the sheet at ``path`` replayed with its corrections (``apply=False``: only found).

    ``{"corrected": [{"id", "line", "changes"}], "replayed", "still_invalid", "skipped", "unchanged": [ids]}``,
    ``line`` being the sheet's row; InputError when the file is not a correction sheet.
    ``connections``: only entries of these connections may be corrected (a web user's); any
    other is said to be no entry of this hub, as one that does not exist.
    """
    reader = open_table(path)
    if isinstance(reader, JsonlFile):
        raise InputError(f"{path}: a correction sheet is the .xlsx or .csv file `hub quarantine export` wrote")
    header = list(reader.header)
    id_column = next((h for h in header if h in _ID_HEADS), None)
    if id_column is None:
        raise InputError(
            f"{path}: no column {' or '.join(map(repr, sorted(_ID_HEADS)))}, which names each row's quarantine entry",
            hint="correct the file `hub quarantine export FILE` wrote, keeping its first column as it is",
        )
    raw_columns = [h for h in header if h and h not in _OWN_HEADS and h != "(raw)"]
    try:
        edits, corrected, unchanged, skipped, line_of = _read_rows(hub, reader, id_column, raw_columns, connections)
    finally:
        close = getattr(reader, "close", None)
        if close:
            close()
    outcome: dict[str, Any] = {"replayed": [], "still_invalid": [], "skipped": [], "not_sent": None}
    if apply and edits:
        outcome = replay(hub, list(edits), edits=edits, actor=actor)
    for part in ("replayed", "still_invalid", "skipped"):
        for item in outcome[part]:
            item["line"] = line_of.get(item["id"])
    return {
        "file": str(path),
        "corrected": corrected,
        "replayed": outcome["replayed"],
        "still_invalid": outcome["still_invalid"],
        "skipped": skipped + outcome["skipped"],
        "unchanged": unchanged,
        "not_sent": outcome["not_sent"],
    }


def _read_rows(hub: Hub, reader, id_column: str, raw_columns: list[str], connections: list[str] | None) -> tuple:
    """Each row's entry and the cells that differ from what the sheet was given: (edits, corrected, unchanged, skipped, line_of)."""
    edits: dict[int, dict[str, Any]] = {}
    corrected: list[dict] = []
    unchanged: list[int] = []
    skipped: list[dict] = []
    line_of: dict[int, int] = {}
    with hub.store.engine.connect() as conn:
        for item in reader.rows():
            line, row = item[1], item[2]
            given = cell_text(row.get(id_column))
            if given is None or not given.isdigit():
                skipped.append({"line": line, "reason": f"{id_column!r} is {given or 'empty'}, not an entry's number"})
                continue
            entry_id = int(given)
            if entry_id in line_of:
                skipped.append({"id": entry_id, "line": line, "reason": f"entry {entry_id} is on row {line_of[entry_id]} already"})
                continue
            line_of[entry_id] = line
            try:
                entry = q_store.get_entry(conn, entry_id)
                if connections is not None and entry["connection"] not in connections:
                    raise NotFoundError(entry_id)
            except NotFoundError:
                skipped.append({"id": entry_id, "line": line, "reason": f"no quarantine entry {entry_id} in this hub"})
                continue
            raw = entry["raw"]
            if not isinstance(raw, dict):
                skipped.append({"id": entry_id, "line": line, "reason": "its payload is not a row of columns: correct it at its source"})
                continue
            changes = {}
            for column in raw_columns:
                cell = cell_text(row.get(column))
                if cell != _as_given(raw.get(column)) and not (column not in raw and cell is None):
                    changes[column] = _as_corrected(cell)
            if not changes:
                unchanged.append(entry_id)
                continue
            if entry["status"] != "open":
                skipped.append(
                    {"id": entry_id, "line": line, "reason": f"already {entry['status']}: corrected or settled since the sheet was made"}
                )
                continue
            edits[entry_id] = changes
            corrected.append({"id": entry_id, "line": line, "changes": changes})
    return edits, corrected, unchanged, skipped, line_of
