"""File connectors: xlsx source, jsonl destination idempotent under repeated delivery."""

from __future__ import annotations

import json
from pathlib import Path

from openpyxl import Workbook

from connectors.jsonl import Jsonl
from hub import ConnectorContext, Delivery

# A distributions workbook with Arabic headers; ``settings`` adds to the connection's settings.
XLSX_CONFIG = """store: sqlite:///hub.db
connections:
  x:
    connector: xlsx
    settings: {{path: d.xlsx{settings}}}
    streams:
      d:
        entity: distribution
        mapping:
          id: رقم
          association_id: {{const: a}}
          governorate: {{column: المحافظة, type: governorate}}
          households: {{column: عدد الأسر, type: integer}}
          distributed_at: {{column: التاريخ, type: datetime}}
          sector: القطاع
"""


def _records(folder) -> dict:
    return {json.loads(d)["id"]: json.loads(d) for (d,) in folder.sql("select data from records")}


def _run_workbook(folder, wb: Workbook, settings: str = "", code: int = 0) -> dict:
    """Save ``wb`` as d.xlsx, run the ``x`` connection over it, and return the stored records by id."""
    wb.save(folder.path / "d.xlsx")
    folder.write("hub.yaml", XLSX_CONFIG.format(settings=settings))
    r = folder.hub("run", "x", "--json")
    assert r.code == code, r.err
    return _records(folder)


def test_xlsx_source_reads_typed_cells_and_arabic_headers(folder):
    wb = Workbook()
    ws = wb.active
    ws.append(["رقم", "المحافظة", "عدد الأسر", "التاريخ", "القطاع"])
    ws.append(["X1", "حماة", 12.0, __import__("datetime").datetime(2026, 10, 5), "food_security"])
    ws.append([None, None, None, None, None])
    ws.append(["X2", "Idlib", 7, "2026-10-06", "health"])
    got = _run_workbook(folder, wb)
    assert got["X1"] == {
        "id": "X1",
        "association_id": "a",
        "governorate": "SY05",
        "households": 12,
        "distributed_at": "2026-10-05T00:00:00+03:00",
        "sector": "food_security",
    }
    assert got["X2"]["governorate"] == "SY07"
    assert folder.sql("select count(*) from quarantine") == [(0,)], "the empty row is skipped, not quarantined"


def test_a_merged_cell_gives_its_value_to_every_row_it_covers(folder):
    # Field teams write a day and a governorate once for the group of rows below them. Every
    # row but the first used to come out without them (and was quarantined as incomplete).
    from datetime import datetime

    wb = Workbook()
    ws = wb.active
    ws.append(["توزيعات تشرين الأول"])  # a title merged across the columns, above the header
    ws.append(["رقم", "المحافظة", "عدد الأسر", "التاريخ", "القطاع"])
    ws.append(["X1", "حماة", 12, datetime(2026, 10, 5), "food_security"])
    ws.append(["X2", None, 7, None, "health"])
    ws.append(["X3", None, 3, None, "health"])
    ws.append([None, None, None, None, None])  # reached only by the merges: not a record
    ws.append(["X4", "Idlib", 9, datetime(2026, 10, 6), "health"])
    for cells in ("A1:E1", "B3:B6", "D3:D6"):
        ws.merge_cells(cells)
    got = _run_workbook(folder, wb, settings=", skip_rows: 1")
    assert "d.xlsx: 5 columns; 2 merged range(s) in the data" in folder.hub("check", "x").out
    assert {k: (v["governorate"], v["distributed_at"][:10]) for k, v in got.items()} == {
        "X1": ("SY05", "2026-10-05"),
        "X2": ("SY05", "2026-10-05"),
        "X3": ("SY05", "2026-10-05"),
        "X4": ("SY07", "2026-10-06"),
    }
    assert folder.sql("select count(*) from quarantine") == [(0,)]


def test_a_formula_the_workbook_carries_no_value_for_is_named_as_a_formula(folder):
    # A workbook written by a program that does not calculate (openpyxl here, some ERP exports)
    # has formulas without values. They came out empty: an optional field silently dropped, an id "missing".
    wb = Workbook()
    ws = wb.active
    ws.append(["رقم", "المحافظة", "عدد الأسر", "التاريخ", "القطاع", "المجموع"])
    ws.append(["X1", "حماة", "=2*6", "2026-10-05", "food_security"])
    ws.append(["X2", "حماة", 7, "2026-10-05", "health"])
    ws.append(['="X"&3', "حماة", 7, "2026-10-05", "health"])  # text from a formula: not stored as "=…"
    ws.append(["X4", "حماة", 7, "2026-10-05", "health", "=SUM(C2:C4)"])  # a formula in a column not mapped
    got = _run_workbook(folder, wb, code=1)
    assert "d.xlsx: 6 columns; 3 formula cell(s) without a value" in folder.hub("check", "x").out, "said before a run, too"
    households, ident = json.loads(folder.hub("quarantine", "list", "--json").out)
    assert households["raw"]["عدد الأسر"] == "=2*6", "the raw payload shows the formula"
    assert [(e["path"], e["rule"]) for e in households["errors"]] == [("households", "formula")]
    assert households["errors"][0]["message"].startswith("'=2*6' is a formula whose value the file does not carry")
    assert [(e["path"], e["rule"]) for e in ident["errors"]] == [("id", "formula")]
    assert sorted(got) == ["X2", "X4"]
    # Replayed as it is, the formula's text is still not taken for an id.
    replay = folder.hub("quarantine", "replay", str(ident["id"]))
    assert replay.code == 1 and "is a spreadsheet formula, not its value" in replay.out
    assert sorted(_records(folder)) == ["X2", "X4"]
    assert "=SUM(C2:C4)" not in json.dumps(got["X4"], ensure_ascii=False), "an unmapped formula is not kept as if it were a value"


def test_a_merged_formula_without_a_value_is_a_formula_on_every_row_it_covers(folder):
    # A sector computed once for a group of rows (=IF(...)) by a program that does not calculate:
    # the rows below the first took the formula's text as their sector, without a word.
    wb = Workbook()
    ws = wb.active
    ws.append(["رقم", "المحافظة", "عدد الأسر", "التاريخ", "القطاع"])
    ws.append(["X1", "حماة", 12, "2026-10-05", '=IF(C2>10,"food_security","health")'])
    ws.append(["X2", "حماة", 7, "2026-10-05", None])
    ws.append(["X3", "حماة", 3, "2026-10-05", "health"])
    ws.merge_cells("E2:E3")
    got = _run_workbook(folder, wb, code=1)
    assert sorted(got) == ["X3"], "neither row of the merge stores the formula's text as a sector"
    entries = json.loads(folder.hub("quarantine", "list", "--json").out)
    assert [(e["raw"]["رقم"], [(x["path"], x["rule"]) for x in e["errors"]]) for e in entries] == [
        ("X1", [("sector", "formula")]),
        ("X2", [("sector", "formula")]),
    ]
    assert entries[1]["raw"]["القطاع"].startswith("=IF("), "the raw payload shows what the cell holds"


def test_a_formula_whose_value_is_empty_text_is_a_value(tmp_path: Path):
    # Excel writes =IF(…,"") that came out empty as t="str" with an empty <v>: calculated, not missing.
    import zipfile

    from hub.readers.xlsx_file import scan_sheet

    wb = Workbook()
    wb.active.append(["a", "b", "c"])
    wb.active.append([1, "=A2*2", "=A2*3"])
    wb.save(tmp_path / "w.xlsx")
    sheet = "xl/worksheets/sheet1.xml"
    with zipfile.ZipFile(tmp_path / "w.xlsx") as book:
        parts = {i.filename: book.read(i.filename) for i in book.infolist()}
    assert b'<c r="C2"><f>A2*3</f><v /></c>' in parts[sheet], "openpyxl writes a formula without its value"
    parts[sheet] = parts[sheet].replace(b'<c r="C2"><f>A2*3</f><v /></c>', b'<c r="C2" t="str"><f>IF(A2&gt;5,"big","")</f><v></v></c>')
    with zipfile.ZipFile(tmp_path / "excel.xlsx", "w") as book:
        for name, data in parts.items():
            book.writestr(name, data)
    assert scan_sheet(tmp_path / "excel.xlsx", sheet) == ([], {(2, 2): "=A2*2"})


def test_jsonl_destination_writes_each_version_once(tmp_path: Path):
    ctx = ConnectorContext(connection="export", base_dir=tmp_path)
    rec = {
        "id": "D1",
        "association_id": "A",
        "amount": "5",
        "currency": "SYP",
        "donated_at": "2026-01-01T00:00:00+03:00",
        "channel": "cash",
        "status": "received",
        "donor": {"name": "سامي"},
    }
    batch = [Delivery("donation:A|D1:v1:x", "donation", "A|D1", 1, rec)]
    Jsonl({"folder": "out"}, ctx).write("donation", batch)
    Jsonl({"folder": "out"}, ctx).write("donation", batch)  # a crash before the ack: the same batch again
    changed = {**rec, "amount": "6"}
    Jsonl({"folder": "out"}, ctx).write("donation", [Delivery("donation:A|D1:v2:y", "donation", "A|D1", 2, changed)])
    lines = [json.loads(x) for x in (tmp_path / "out" / "donation.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [x["amount"] for x in lines] == ["5", "6"]
    assert lines[0]["donor"]["name"] == "سامي"
