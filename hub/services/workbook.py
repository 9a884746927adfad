"""Records as spreadsheet rows: flattened columns, Arabic or English headers, one sheet per entity.

Shared by the ``xlsx`` destination and ``hub export``. Nested objects become ``donor.name``
columns, lists are joined with ``; ``, and every text cell is neutralised against formula
injection and cleared of what XLSX cannot hold (see :func:`hub.services.spreadsheet.xlsx_cell`).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from hub.readers.xlsx_file import UNREADABLE, unreadable_workbook
from hub.schema import entity_key, load_schema
from hub.services.messages import FIELD_NAMES
from hub.services.spreadsheet import save_workbook, xlsx_cell

__all__ = ["columns_for", "flatten", "header_label", "read_workbook", "upsert_sheet", "write_workbook"]

_EXTRA_AR = {
    "name_ar": "الاسم بالعربية",
    "name_en": "الاسم بالإنكليزية",
    "registration_number": "رقم الترخيص",
    "governorates_served": "المحافظات المخدومة",
    "sectors": "القطاعات",
    "unit": "الوحدة",
    "location": "الموقع",
    "location_name": "اسم الموقع",
    "modality": "نوع المساعدة",
    "description": "الوصف",
    "received_at": "تاريخ الاستلام",
    "received_amount": "المبلغ المستلم",
    "booking_date": "تاريخ القيد",
    "value_date": "تاريخ الاستحقاق",
    "direction": "الاتجاه",
    "remittance": "البيان",
    "account": "الحساب",
    "female": "إناث",
    "male": "ذكور",
    "title_ar": "العنوان بالعربية",
    "title_en": "العنوان بالإنكليزية",
    "start_date": "تاريخ البدء",
    "end_date": "تاريخ الانتهاء",
    "target_amount": "المبلغ المستهدف",
    "type": "النوع",
    "extra": "حقول إضافية",
}


def flatten(record: dict, prefix: str = "") -> dict[str, object]:
    """``{"donor": {"name": x}}`` -> ``{"donor.name": x}``; lists joined with ``; ``."""
    out: dict[str, object] = {}
    for k, v in record.items():
        name = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(flatten(v, f"{name}."))
        elif isinstance(v, list):
            out[name] = "; ".join(str(x) if not isinstance(x, dict) else ", ".join(f"{a}={b}" for a, b in x.items()) for x in v)
        else:
            out[name] = v
    return out


def columns_for(entity: str) -> list[str]:
    """The schema's fields of ``entity`` as flat column names, in schema order."""
    schema = load_schema(entity)
    cols = []
    for name, prop in schema["properties"].items():
        if "properties" in prop:
            cols += [f"{name}.{sub}" for sub in prop["properties"]]
        elif name != "extra":
            cols.append(name)
    return cols


def header_label(column: str, lang: str) -> str:
    """The header a person reads: the field name in English, or its Arabic label."""
    if lang != "ar":
        return column
    names = FIELD_NAMES.get(column)
    return names[1] if names else _EXTRA_AR.get(column, column)


def write_workbook(path: Path, sheets: dict[str, Iterable[dict]], *, lang: str = "en") -> dict[str, int]:
    """Write one sheet per entity (rows are records); returns rows written per sheet."""
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    counts = {}
    for entity, records in sheets.items():
        ws = wb.create_sheet(entity[:31])
        if lang == "ar" and hasattr(ws, "sheet_view"):
            ws.sheet_view.rightToLeft = True
        rows = [flatten(r) for r in records]
        _fill(ws, entity, rows, lang)
        counts[entity] = len(rows)
    save_workbook(wb, path)
    return counts


def read_workbook(path: Path) -> dict[str, list[dict]]:
    """Read the entity sheets of a workbook written here back into flat rows by entity."""
    from openpyxl import load_workbook

    from hub.schema import ENTITIES

    if not path.exists():
        return {}
    wb = load_workbook(path, read_only=True)
    out: dict[str, list[dict]] = {}
    for ws in wb.worksheets:
        if ws.title not in ENTITIES:
            continue
        rows = ws.iter_rows(values_only=True)
        next(rows, None)  # the people's header
        fields = next(rows, None)
        if not fields:
            continue
        out[ws.title] = [{f: v for f, v in zip(fields, r) if f and v is not None} for r in rows]
    wb.close()
    return out


def key_of(entity: str, flat: dict) -> str:
    """The natural key of a flat row."""
    return "|".join(str(flat.get(f, "")) for f in entity_key(entity))


def _fill(ws, entity: str, rows: list[dict], lang: str) -> None:
    cols = columns_for(entity)
    for r in rows:
        for c in r:
            if c not in cols:
                cols.append(c)
    used = [c for c in cols if any(c in r for r in rows)] or cols
    ws.append([xlsx_cell(header_label(c, lang)) for c in used])
    ws.append([xlsx_cell(c) for c in used])  # the field names row lets the file be read back (and by hub validate)
    for r in rows:
        ws.append([xlsx_cell(r.get(c)) for c in used])


def upsert_sheet(path: Path, entity: str, records: Iterable[dict], *, lang: str = "en") -> int:
    """Upsert ``records`` by natural key into the ``entity`` sheet of the workbook at ``path``.

    Other sheets (an association's own) are kept as they are; the file is replaced atomically.
    """
    from openpyxl import Workbook, load_workbook

    if path.exists():
        try:
            with path.open("rb") as f:  # a file, not a name: openpyxl judges the content, not the extension
                wb = load_workbook(f)
        except UNREADABLE as exc:
            raise unreadable_workbook(
                path, exc, hint="move it aside (a new workbook is made) or put back a good copy; the records wait in the outbox"
            ) from None
    else:
        wb = Workbook()
        wb.remove(wb.active)
    existing: dict[str, dict] = {}
    index = len(wb.sheetnames)
    if entity in wb.sheetnames:
        ws = wb[entity]
        rows = ws.iter_rows(values_only=True)
        next(rows, None)
        fields = next(rows, None) or ()
        for r in rows:
            flat = {f: v for f, v in zip(fields, r) if f and v is not None}
            existing[key_of(entity, flat)] = flat
        index = wb.sheetnames.index(entity)
        wb.remove(ws)
    for rec in records:
        flat = flatten(rec)
        existing[key_of(entity, flat)] = flat
    ws = wb.create_sheet(entity, index)
    if lang == "ar":
        ws.sheet_view.rightToLeft = True
    _fill(ws, entity, list(existing.values()), lang)
    save_workbook(wb, path)
    return len(existing)
