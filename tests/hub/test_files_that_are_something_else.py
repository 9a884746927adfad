"""Files that are not what their name or their connection says: named for what they are, never read as garbage.

An association's staff send what they have: a workbook saved under a .csv name, an Excel
97–2003 file, a workbook with a password, a download cut short, a web system's "Excel" export
that is an HTML page, a PDF statement. Each is refused whole with what it is and what to do,
exit 2, nothing quarantined; a workbook under an unexpected name is simply read.
"""

from __future__ import annotations

import io
import json
import zipfile

import openpyxl
import pytest

from tests.conftest import DONATION_HEADER, DONATION_STREAMS, donation_rows

_OLE = bytes.fromhex("D0CF11E0A1B11AE1")


def _workbook(rows: int = 2000) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(DONATION_HEADER)
    for row in donation_rows(rows):
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _with_sheet(book: bytes, change) -> bytes:
    """``book`` with its first sheet's stored bytes passed through ``change``, everything else as it was."""
    src = zipfile.ZipFile(io.BytesIO(book))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            dst.writestr(info, change(data) if info.filename == "xl/worksheets/sheet1.xml" else data)
    return out.getvalue()


def _schema_workbook(rows: int) -> bytes:
    """A workbook in the common schema's own shape, as ``hub validate`` reads."""
    wb = openpyxl.Workbook()
    wb.active.append(["id", "association_id", "amount", "currency", "donated_at", "channel", "status"])
    for i in range(rows):
        wb.active.append([f"D{i}", "assoc-amal", f"{i}.50", "SYP", "2026-10-15T10:00:00+03:00", "cash", "received"])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _config(connector: str, path: str) -> str:
    """The amal association's donations, with Arabic headers, read through ``connector`` from ``path``."""
    return (
        "store: sqlite:///hub.db\n"
        f"connections:\n  amal:\n    connector: {connector}\n    settings: {{path: {path}}}\n" + DONATION_STREAMS.format()
    )


def _refused(r, *words: str) -> None:
    assert r.code == 2, r.err
    assert "Traceback" not in r.err and "internal error" not in r.err
    for w in words:
        assert w in r.err


def test_a_workbook_saved_under_a_csv_or_jsonl_name_is_refused_whole_not_read_as_garbled_records(folder):
    (folder.path / "donations.csv").write_bytes(_workbook())
    folder.write("hub.yaml", _config("csv", "donations.csv"))
    r = folder.hub("run", "amal")
    _refused(r, "donations.csv: this is an Excel workbook (.xlsx), not a CSV file", "connector: xlsx")
    assert folder.sql("select count(*) from quarantine") == [(0,)], "no garbled 'records' quarantined"
    assert folder.sql("select count(*) from records") == [(0,)]
    assert folder.sql("select status from runs") == [("failed",)]

    (folder.path / "donations.jsonl").write_bytes(_workbook())
    _refused(folder.hub("validate", "donation", "donations.jsonl"), "this is an Excel workbook (.xlsx), not a JSON Lines file")


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"", "the file is empty (0 bytes)"),
        ("رقم,المبلغ\nD1,5\n".encode(), "this is a text file, not an .xlsx workbook"),
        (_OLE + bytes(504), "this is an Excel 97–2003 workbook (.xls)"),
        (_OLE + bytes(1000) + "EncryptedPackage".encode("utf-16-le") + bytes(100), "this is an Office file protected with a password"),
        (b"<html><body><table><tr><td>1</td></tr></table></body></html>", "this is an HTML page"),
        (b"%PDF-1.7\n...", "this is a PDF document"),
    ],
    ids=["empty", "csv", "xls", "password", "html", "pdf"],
)
def test_a_file_that_is_not_a_workbook_is_named_for_what_it_is(folder, content, words):
    (folder.path / "donations.xlsx").write_bytes(content)
    folder.write("hub.yaml", _config("xlsx", "donations.xlsx"))
    _refused(folder.hub("run", "amal"), f"donations.xlsx: {words}")


def test_a_workbook_cut_short_or_damaged_inside_is_said_to_be_damaged_not_an_internal_error(folder):
    book = _workbook()
    folder.write("hub.yaml", _config("xlsx", "donations.xlsx"))

    (folder.path / "donations.xlsx").write_bytes(book[: len(book) // 2])
    _refused(folder.hub("run", "amal"), "the workbook is damaged or cut short", "copy it again")

    def flip(data: bytes) -> bytes:  # bytes changed inside the compressed sheet: its checksum no longer matches
        return data[:1000] + bytes(b ^ 0x5A for b in data[1000:1040]) + data[1040:]

    damaged = bytearray(_with_sheet(book, lambda d: d))
    sheet = zipfile.ZipFile(io.BytesIO(bytes(damaged))).getinfo("xl/worksheets/sheet1.xml")
    start = sheet.header_offset + 30 + len(sheet.filename.encode()) + len(sheet.extra)
    damaged[start : start + sheet.compress_size] = flip(bytes(damaged[start : start + sheet.compress_size]))
    (folder.path / "donations.xlsx").write_bytes(bytes(damaged))
    _refused(folder.hub("run", "amal"), "the workbook is damaged: sheet 'Sheet' cannot be read")

    # XML broken halfway down the sheet (a program that wrote it badly): the rows before it
    # are read, and the message says after which row the sheet breaks off.
    (folder.path / "donations.xlsx").write_bytes(_with_sheet(book, lambda d: d[: len(d) // 2] + b"<<" + d[len(d) // 2 :]))
    r = folder.hub("validate", "donation", "donations.xlsx")
    _refused(r, "the workbook is damaged: sheet 'Sheet' cannot be read after row ", "its XML is not well-formed")
    row = int(r.err.split("after row ")[1].split(" ")[0])
    assert 500 < row < 1500


def test_a_workbook_under_another_name_is_read(folder):
    book = _workbook(30)
    (folder.path / "donations.xlsx.download").write_bytes(book)
    folder.write("hub.yaml", _config("xlsx", "donations.xlsx.download"))
    r = folder.hub("run", "amal", "--json")
    assert r.code == 0, r.err
    assert json.loads(r.out)["runs"][0]["inserted"] == 30
    (folder.path / "from-excel.xls").write_bytes(_schema_workbook(7))  # .xlsx inside, .xls outside: Excel opens it, so do we
    r = folder.hub("validate", "donation", "from-excel.xls")
    assert r.code == 0 and "7 record(s), 7 valid" in r.out, r.err


def test_the_drop_folder_reads_a_workbook_named_xls_and_fails_a_pdf_with_what_it_is(folder):
    folder.write("hub.yaml", _config("folder", "inbox"))
    (folder.path / "inbox").mkdir()
    (folder.path / "inbox" / "october.xls").write_bytes(_workbook(12))
    (folder.path / "inbox" / "statement.pdf").write_bytes(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    r = folder.hub("run", "amal", "--json")
    assert json.loads(r.out)["runs"][0]["inserted"] == 12, r.err
    assert sorted(p.name for p in (folder.path / "inbox" / "done").iterdir()) == ["october.xls"]
    reason = (folder.path / "inbox" / "failed" / "statement.pdf.reason.txt").read_text()
    assert "statement.pdf: this is a PDF document" in reason and "MT940 or camt.053" in reason


def test_a_pdf_or_a_workbook_given_as_a_bank_statement_is_named(folder):
    folder.write("hub.yaml", "store: sqlite:///hub.db\n")
    (folder.path / "statement.pdf").write_bytes(b"%PDF-1.4\n")
    (folder.path / "statement.xlsx").write_bytes(_workbook(3))
    folder.write("donations.jsonl", "")
    r = folder.hub("reconcile", "--statement", "statement.pdf", "--donations", "donations.jsonl")
    _refused(r, "statement.pdf: this is a PDF document, not a bank statement")
    r = folder.hub("reconcile", "--statement", "statement.xlsx", "--donations", "donations.jsonl")
    _refused(r, "statement.xlsx: this is an Excel workbook (.xlsx), not a bank statement")


_TO_A_WORKBOOK = """\
store: sqlite:///hub.db
connections:
  src:
    connector: jsonl
    settings: {path: in.jsonl}
    streams:
      d: {entity: donation}
    destinations: [book]
  book:
    connector: xlsx
    settings: {path: %s}
"""


def _donation_line(i: int) -> str:
    return json.dumps(
        {
            "id": f"D{i}",
            "association_id": "assoc-amal",
            "amount": f"{i}.50",
            "currency": "SYP",
            "donated_at": "2026-10-15T10:00:00+03:00",
            "channel": "cash",
            "status": "pledged",
        }
    )


def test_a_destination_workbook_that_is_damaged_keeps_the_records_waiting_and_check_says_so(folder):
    folder.write("hub.yaml", _TO_A_WORKBOOK % "out.xlsx")
    folder.write("in.jsonl", "\n".join(_donation_line(i) for i in range(3)) + "\n")
    (folder.path / "out.xlsx").write_bytes(_workbook(5)[:3000])  # a copy cut short
    check = folder.hub("check", "book")
    _refused(check, "out.xlsx: the workbook is damaged or cut short", "move it aside")

    r = folder.hub("run", "src", "--json")
    assert r.code == 75, r.err
    run = json.loads(r.out)["runs"][0]
    assert (run["status"], run["inserted"], run["delivered"]) == ("partial", 3, 0)
    assert "the workbook is damaged or cut short" in r.err and "internal error" not in r.err
    assert folder.sql("select count(*) from quarantine") == [(0,)], "the records are not at fault"
    assert folder.sql("select count(*) from outbox where status = 'pending'") == [(3,)]

    (folder.path / "out.xlsx").rename(folder.path / "out-broken.xlsx")
    r = folder.hub("run", "src", "--retry-now", "--json")
    assert r.code == 0, r.err
    rows = list(openpyxl.load_workbook(folder.path / "out.xlsx")["donation"].iter_rows(values_only=True))
    assert sorted(row[0] for row in rows[2:]) == ["D0", "D1", "D2"]


def test_a_destination_workbook_named_xls_is_updated_run_after_run(folder):
    folder.write("hub.yaml", _TO_A_WORKBOOK % "donations.xls")
    folder.write("in.jsonl", _donation_line(0) + "\n")
    assert folder.hub("run", "src").code == 0
    with (folder.path / "in.jsonl").open("a") as f:
        f.write(_donation_line(1) + "\n")
    r = folder.hub("run", "src")
    assert r.code == 0, r.err
    with (folder.path / "donations.xls").open("rb") as f:  # openpyxl refuses the name, not the content
        rows = list(openpyxl.load_workbook(f)["donation"].iter_rows(values_only=True))
    assert sorted(row[0] for row in rows[2:]) == ["D0", "D1"]
