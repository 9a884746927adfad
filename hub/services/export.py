"""``hub export``: the store's records as a workbook an association can open (formulas neutralised)."""

from __future__ import annotations

from pathlib import Path

import orjson
from sqlalchemy import select

from hub.app import Hub
from hub.errors import InputError
from hub.schema import ENTITIES
from hub.services.workbook import write_workbook
from hub.store.models import records_table

__all__ = ["export_workbook"]


def export_workbook(
    hub: Hub, path: Path, *, entities: list[str] | None = None, association: str | None = None, lang: str = "en"
) -> dict[str, int]:
    """Write one sheet per entity present in the store; returns rows per sheet."""
    if path.suffix.lower() != ".xlsx":
        raise InputError(f"{path}: the report is an .xlsx workbook", hint="name the file report.xlsx")
    t = records_table
    sheets: dict[str, list[dict]] = {}
    with hub.store.engine.connect() as conn:
        for entity in entities or ENTITIES:
            q = select(t.c.data).where(t.c.entity == entity).order_by(t.c.key)
            if association:
                q = q.where(t.c.association_id == association)
            rows = [orjson.loads(d) for (d,) in conn.execute(q)]
            if rows or entities:
                sheets[entity] = rows
    return write_workbook(path, sheets, lang=lang)
