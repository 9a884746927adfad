"""The correction sheet's round trip: exported for an association, corrected in Excel, imported back."""

from __future__ import annotations

import csv
import json
from datetime import datetime

from tests.conftest import DONATION_HEADER

ROWS = [
    ["D1", "سمير", "ألف", "SYP", "15/10/2026", "نقدي"],  # a number written in words
    ["D2", "=HYPERLINK(1)", "١٬٢٥٠٫٥", "SYP", "31/02/2026", "نقدي"],  # a day that does not exist; a name like a formula
    ["D3", "ليلى", "مئتان", "SYP", "16/10/2026", "نقدي"],
]


def _quarantined(donations) -> None:
    donations.write_csv("donations.csv", DONATION_HEADER, ROWS)
    assert donations.hub("run", "amal").code == 1
    assert len(json.loads(donations.hub("quarantine", "list", "--json").out)) == 3


def test_an_association_corrects_the_exported_workbook_and_the_hub_replays_what_changed(donations):
    import openpyxl

    _quarantined(donations)
    assert donations.hub("quarantine", "export", "fixes.xlsx", "--lang", "ar").code == 0
    book = openpyxl.load_workbook(donations.path / "fixes.xlsx")
    sheet = book.active
    header = [c.value for c in sheet[1]]
    assert header[:4] == ["رقم", "الاتصال", "السطر", "الأخطاء"]
    by_receipt = {row[header.index("رقم الإيصال")].value: row for row in sheet.iter_rows(min_row=2)}
    by_receipt["D1"][header.index("المبلغ")].value = 1000  # typed as a number, as Excel keeps it
    by_receipt["D2"][header.index("التاريخ")].value = datetime(2026, 2, 28)  # typed as a date; D3 is left as it was
    sheet.append([999, "amal", 9, "", "D9"])  # a row naming no entry of this hub
    book.save(donations.path / "fixes.xlsx")

    preview = donations.hub("quarantine", "import", "fixes.xlsx", "--dry-run", "--json")
    assert preview.code == 0, preview.err
    assert [(c["line"], c["changes"]) for c in json.loads(preview.out)["corrected"]] == [
        (2, {"المبلغ": "1000"}),
        (3, {"التاريخ": "2026-02-28"}),
    ]
    assert donations.sql("select count(*) from records") == [(0,)], "a dry run replays nothing"

    done = donations.hub("quarantine", "import", "fixes.xlsx", "--json")
    assert done.code == 0, done.out + done.err
    result = json.loads(done.out)
    assert sorted(r["id"] for r in result["replayed"]) == [1, 2] and result["unchanged"] == [3]
    assert [(s["line"], s["reason"]) for s in result["skipped"]] == [(5, "no quarantine entry 999 in this hub")]
    stored = {json.loads(d)["id"]: json.loads(d) for (d,) in donations.sql("select data from records")}
    assert (stored["D1"]["amount"], stored["D2"]["amount"], stored["D2"]["donated_at"][:10]) == ("1000", "1250.5", "2026-02-28")
    assert stored["D2"]["donor"]["name"] == "=HYPERLINK(1)", "the text the export protected went back as the source wrote it"
    # What the source sent stays on each entry beside the correction; the sheet cannot apply twice.
    entry = json.loads(donations.hub("quarantine", "show", "1", "--json").out)
    assert (entry["raw"]["المبلغ"], entry["corrected"]["المبلغ"]) == ("ألف", "1000")
    again = json.loads(donations.hub("quarantine", "import", "fixes.xlsx", "--json").out)
    assert again["replayed"] == [] and {s.get("id") for s in again["skipped"]} == {1, 2, 999}
    assert [e["id"] for e in json.loads(donations.hub("quarantine", "list", "--json").out)] == [3]


def test_a_correction_that_still_fails_names_its_row_in_the_sheet_and_keeps_the_entry_as_sent(donations):
    _quarantined(donations)
    assert donations.hub("quarantine", "export", "fixes.csv").code == 0
    with (donations.path / "fixes.csv").open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    amount = rows[0].index("المبلغ")
    rows[3][amount] = "مئتان وخمسون"  # D3, the sheet's row 4: still not a number
    with (donations.path / "fixes.csv").open("w", encoding="utf-8-sig", newline="") as f:
        csv.writer(f).writerows(rows)
    r = donations.hub("quarantine", "import", "fixes.csv")
    assert r.code == 1
    assert "replayed 0, still invalid 1, as they were 2, skipped 0" in r.out
    assert "row 4 (entry 3): amount: 'مئتان وخمسون' is not a number" in r.out, r.out
    assert json.loads(donations.hub("quarantine", "show", "3", "--json").out)["raw"]["المبلغ"] == "مئتان"


def test_a_file_that_is_not_a_correction_sheet_is_refused_whole(donations):
    _quarantined(donations)
    donations.write_csv("other.csv", DONATION_HEADER, ROWS)
    r = donations.hub("quarantine", "import", "other.csv")
    assert r.code == 2 and "which names each row's quarantine entry" in r.err and "Traceback" not in r.err
    assert donations.hub("quarantine", "import", "missing.xlsx").code == 2


def test_a_destination_that_cannot_be_opened_now_does_not_stop_the_corrections(donations):
    # The demo's hub.yaml names its platform by a secret only `hub demo` sets: replaying from a
    # shell stored the first correction, then ended in an error, and the rest were never tried.
    config = (donations.path / "hub.yaml").read_text(encoding="utf-8")
    config = config.replace("settings: {folder: export}", "settings: {folder: '${EXPORT_FOLDER}'}")
    config = config.replace("destinations: [export]", "destinations: [export, open_data]")
    donations.write("hub.yaml", config + "  open_data:\n    connector: jsonl\n    settings: {folder: open-data}\n")
    donations.write_csv("donations.csv", DONATION_HEADER, ROWS)
    assert donations.hub("run", "amal", env={"EXPORT_FOLDER": "export"}).code == 1
    assert donations.hub("quarantine", "export", "fixes.csv").code == 0
    with (donations.path / "fixes.csv").open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    amount = rows[0].index("المبلغ")
    rows[1][amount], rows[3][amount] = "1000", "200"  # D1 and D3
    with (donations.path / "fixes.csv").open("w", encoding="utf-8-sig", newline="") as f:
        csv.writer(f).writerows(rows)
    r = donations.hub("quarantine", "import", "fixes.csv")  # EXPORT_FOLDER is not set in this shell
    assert r.code == 0 and "replayed 2, still invalid 0, as they were 1" in r.out, r.out + r.err
    assert (
        "stored, and waiting in the outbox for export: connections.export.settings.folder: secret ${EXPORT_FOLDER} is not set" in r.err
    ), r.err
    assert donations.sql("select count(*) from records") == [(2,)]
    # The destination that could be opened has them already; the other waits for them.
    by_destination = "select destination, status, count(*) from outbox group by destination, status order by destination"
    assert donations.sql(by_destination) == [("export", "pending", 2), ("open_data", "delivered", 2)]
    # The next run where the secret is set delivers them.
    assert donations.hub("run", "amal", env={"EXPORT_FOLDER": "export"}).code in (0, 1)
    assert donations.sql(by_destination) == [("export", "delivered", 2), ("open_data", "delivered", 2)]
