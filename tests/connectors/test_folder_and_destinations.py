"""Drop folder, sql and xlsx destinations and the spreadsheet report, as an association's IT person uses them."""

from __future__ import annotations

import json
import sqlite3

from openpyxl import load_workbook

FOLDER_CONFIG = """\
store: sqlite:///hub.db
connections:
  drops:
    connector: folder
    settings: {path: inbox}
    streams:
      d:
        entity: donation
        mapping:
          id: رقم
          association_id: {const: A1}
          amount: {column: المبلغ, type: decimal}
          currency: {const: SYP}
          donated_at: {column: التاريخ, type: datetime, format: "%d/%m/%Y"}
          channel: {const: cash}
          status: {const: received}
          donor.name: الاسم
    destinations: [own-db, book]
  own-db:
    connector: sql
    settings: {url: "sqlite:///own.db", create_tables: true, tables: {donation: tabarruat}}
  book:
    connector: xlsx
    settings: {path: out/donations.xlsx, headers: ar}
"""


def test_drop_folder_processes_each_file_once_and_moves_it(folder):
    folder.write("hub.yaml", FOLDER_CONFIG)
    folder.write_csv(
        "inbox/oct.csv",
        ["رقم", "الاسم", "المبلغ", "التاريخ"],
        [["R1", "=cmd|' /C calc'!A0", "1,000", "01/10/2026"], ["R2", "سامي", "500", "02/10/2026"]],
    )
    (folder.path / "inbox" / "notes.docx").write_bytes(b"PK not ours")
    r = folder.hub("run", "drops", "--json")
    assert r.code == 0, r.err
    run = json.loads(r.out)["runs"][0]
    assert (run["inserted"], run["delivered"]) == (2, 4)
    assert sorted(p.name for p in (folder.path / "inbox" / "done").iterdir()) == ["oct.csv"]
    assert sorted(p.name for p in (folder.path / "inbox" / "failed").iterdir()) == ["notes.docx", "notes.docx.reason.txt"]
    assert "not read here" in (folder.path / "inbox" / "failed" / "notes.docx.reason.txt").read_text()
    assert [p.name for p in (folder.path / "inbox").iterdir() if p.is_file()] == []
    again = json.loads(folder.hub("run", "drops", "--json").out)["runs"][0]
    assert again["read"] == 0, "nothing waiting: nothing read twice"

    db = sqlite3.connect(folder.path / "own.db")
    assert db.execute("select id, amount, donor_name from tabarruat order by id").fetchall() == [
        ("R1", "1000", "=cmd|' /C calc'!A0"),
        ("R2", "500", "سامي"),
    ]
    db.close()
    ws = load_workbook(folder.path / "out" / "donations.xlsx")["donation"]
    rows = list(ws.iter_rows(values_only=True))
    assert ws.sheet_view.rightToLeft
    assert rows[0][:3] == ("الرقم", "الجمعية", "البرنامج")[:1] + rows[0][1:3]
    assert "المبلغ" in rows[0] and "اسم المتبرع" in rows[0]
    name_col = rows[1].index("donor.name")
    assert rows[2][name_col] == "'=cmd|' /C calc'!A0", "a formula never runs in the association's spreadsheet"


def test_changed_records_upsert_in_the_destination_database(folder):
    folder.write("hub.yaml", FOLDER_CONFIG)
    folder.write_csv("inbox/a.csv", ["رقم", "الاسم", "المبلغ", "التاريخ"], [["R1", "سامي", "500", "02/10/2026"]])
    folder.hub("run", "drops")
    folder.write_csv(
        "inbox/b.csv", ["رقم", "الاسم", "المبلغ", "التاريخ"], [["R1", "سامي", "750", "02/10/2026"], ["R3", "ليلى", "10", "03/10/2026"]]
    )
    folder.hub("run", "drops")
    db = sqlite3.connect(folder.path / "own.db")
    assert db.execute("select id, amount from tabarruat order by id").fetchall() == [("R1", "750"), ("R3", "10")]
    db.close()
    sheet = list(load_workbook(folder.path / "out" / "donations.xlsx")["donation"].iter_rows(values_only=True))
    assert len(sheet) == 2 + 2, "two header rows, one row per record"


def test_a_folder_file_is_not_moved_before_its_records_are_committed(folder):
    """The stream acknowledges files only from a committed cursor: a killed run leaves the file in place."""
    from connectors.folder import DropFolder
    from hub.sdk import ConnectorContext, Cursor, StreamConfig

    (folder.path / "inbox").mkdir()
    folder.write_csv("inbox/a.csv", ["id", "name_ar", "governorate", "status"], [["a1", "جمعية", "SY01", "active"]])
    conn = DropFolder({"path": "inbox"}, ConnectorContext("drops", folder.path, (StreamConfig("s", "association"),)))
    [stream] = conn.streams()
    cursor = Cursor(None)
    rows = list(stream.read(cursor))
    assert len(rows) == 1 and (folder.path / "inbox" / "a.csv").exists(), "read, not yet committed: still there"
    stream.committed({"done": [], "current": None})
    assert (folder.path / "inbox" / "a.csv").exists()
    stream.committed(cursor.value)
    assert (folder.path / "inbox" / "done" / "a.csv").exists()


def test_export_writes_the_store_as_a_workbook(folder):
    folder.write("hub.yaml", FOLDER_CONFIG)
    folder.write_csv("inbox/a.csv", ["رقم", "الاسم", "المبلغ", "التاريخ"], [["R1", "سامي", "500", "02/10/2026"]])
    folder.hub("run", "drops")
    r = folder.hub("export", "report.xlsx", "--lang", "ar")
    assert r.code == 0, r.err
    wb = load_workbook(folder.path / "report.xlsx")
    assert wb.sheetnames == ["donation"]
    rows = list(wb["donation"].iter_rows(values_only=True))
    assert rows[0][0] == "الرقم" and rows[2][0] == "R1"


def test_a_file_still_arriving_waits_for_the_next_run_when_the_folder_asks_files_to_settle(folder):
    import os
    import time

    folder.write("hub.yaml", FOLDER_CONFIG.replace("settings: {path: inbox}", "settings: {path: inbox, settle_seconds: 600}"))
    arriving = folder.write_csv("inbox/oct.csv", ["رقم", "الاسم", "المبلغ", "التاريخ"], [["R1", "سامي", "500", "02/10/2026"]])
    first = json.loads(folder.hub("run", "drops", "--json").out)["runs"][0]
    assert first["read"] == 0 and arriving.exists(), "changed a moment ago: left where it is"
    an_hour_ago = time.time() - 3600
    os.utime(arriving, (an_hour_ago, an_hour_ago))  # as if the copy had finished an hour ago
    second = json.loads(folder.hub("run", "drops", "--json").out)["runs"][0]
    assert (second["read"], second["inserted"]) == (1, 1)
    assert (folder.path / "inbox" / "done" / "oct.csv").exists()


def drop_three_gifts(folder, *, second_donor: str):
    """Three gifts dropped in the inbox and run through ``drops``, the second one's donor named ``second_donor``.

    One of them is refused by the destination table: the run exits 1.
    """
    folder.write_csv(
        "inbox/a.csv",
        ["رقم", "الاسم", "المبلغ", "التاريخ"],
        [["R1", "سامي", "500", "02/10/2026"], ["R2", second_donor, "10", "02/10/2026"], ["R3", "ليلى", "20", "03/10/2026"]],
    )
    r = folder.hub("run", "drops", "--json")
    assert r.code == 1, r.err
    return r


def test_a_record_the_destination_table_refuses_is_quarantined_and_the_others_flow_on(folder):
    # The association's own table requires a donor name. One gift without one failed its whole
    # batch as "try again later", every run, and held every later record back behind it.
    folder.write("hub.yaml", FOLDER_CONFIG)
    db = sqlite3.connect(folder.path / "own.db")
    db.execute(
        "create table tabarruat (id text, association_id text, amount text, donor_name text not null, primary key (association_id, id))"
    )
    db.commit()
    db.close()
    r = drop_three_gifts(folder, second_donor="")
    run = json.loads(r.out)["runs"][0]
    assert (run["inserted"], run["delivered"]) == (3, 5), "all three to the workbook, two to the table"
    [entry] = json.loads(folder.hub("quarantine", "list", "--json").out)
    assert (entry["connection"], entry["stage"], entry["raw"]["id"]) == ("own-db", "deliver", "R2")
    assert "NOT NULL constraint failed: tabarruat.donor_name" in entry["errors"][0]["message"]
    db = sqlite3.connect(folder.path / "own.db")
    assert db.execute("select id from tabarruat order by id").fetchall() == [("R1",), ("R3",)]
    db.close()
    status = json.loads(folder.hub("status", "--json").out)
    assert not any(s.get("waiting") for s in status), "nothing left waiting to be retried"
    folder.write_csv("inbox/b.csv", ["رقم", "الاسم", "المبلغ", "التاريخ"], [["R4", "هدى", "30", "04/10/2026"]])
    assert folder.hub("run", "drops").code == 0
    db = sqlite3.connect(folder.path / "own.db")
    assert db.execute("select id from tabarruat order by id").fetchall() == [("R1",), ("R3",), ("R4",)]
    # Replayed while the table still refuses it: refused again, the entry stays open with the reason.
    still = json.loads(folder.hub("quarantine", "replay", str(entry["id"]), "--json").out)
    assert still["replayed"] == [] and "NOT NULL" in still["still_invalid"][0]["errors"][0]["message"]
    # The association lets the column be empty; the replay sends the record again and it is taken.
    db.execute("alter table tabarruat rename to old")
    db.execute("create table tabarruat (id text, association_id text, amount text, donor_name text, primary key (association_id, id))")
    db.execute("insert into tabarruat select * from old")
    db.commit()
    done = folder.hub("quarantine", "replay", str(entry["id"]), "--json")
    assert done.code == 0 and json.loads(done.out)["replayed"] == [{"id": entry["id"], "key": "A1|R2", "delivered_to": "own-db"}]
    assert db.execute("select id, donor_name from tabarruat order by id").fetchall() == [
        ("R1", "سامي"),
        ("R2", None),
        ("R3", "ليلى"),
        ("R4", "هدى"),
    ]
    db.close()
    assert json.loads(folder.hub("quarantine", "list", "--json").out) == []


def test_a_destination_table_that_cannot_take_records_keeps_them_waiting_until_it_is_mended(folder):
    # A table without a unique key on (association_id, id) cannot be upserted. The records are
    # not refused for it (that would quarantine them for good): they wait, and the reason shows.
    folder.write("hub.yaml", FOLDER_CONFIG.replace(", create_tables: true", ""))
    folder.write_csv("inbox/a.csv", ["رقم", "الاسم", "المبلغ", "التاريخ"], [["R1", "سامي", "500", "02/10/2026"]])
    run = json.loads(folder.hub("run", "drops", "--json").out)["runs"][0]
    assert (run["inserted"], run["delivered"]) == (1, 1), "the workbook took it; the missing table did not"
    status = json.loads(folder.hub("status", "--json").out)
    waiting = next(s["waiting"] for s in status if s["connection"] == "own-db")
    assert waiting["pending"] == 1 and "table 'tabarruat' does not exist" in waiting["last_error"]

    db = sqlite3.connect(folder.path / "own.db")
    db.execute("create table tabarruat (id text primary key, association_id text, amount text)")
    db.commit()
    folder.sql("update outbox set next_attempt_at = null")  # as if the retry's wait were over
    folder.hub("run", "drops")
    waiting = next(s["waiting"] for s in json.loads(folder.hub("status", "--json").out) if s["connection"] == "own-db")
    assert "no primary key or unique constraint on (association_id, id)" in waiting["last_error"]

    db.execute("drop table tabarruat")
    db.execute("create table tabarruat (id text, association_id text, amount text, primary key (association_id, id))")
    db.commit()
    folder.sql("update outbox set next_attempt_at = null")
    folder.hub("run", "drops")
    assert db.execute("select id, amount from tabarruat").fetchall() == [("R1", "500")]
    db.close()
    assert json.loads(folder.hub("quarantine", "list", "--json").out) == []


# Donations already in the common schema's shape, one CSV column per field.
GIFT_HEADER = ["id", "association_id", "amount", "currency", "donated_at", "channel", "status"]


def _gift(gift_id: str, association: str = "A1", amount: str = "100") -> list[str]:
    return [gift_id, association, amount, "SYP", "2026-10-01T10:00:00+03:00", "cash", "received"]


def test_a_destination_added_later_is_given_the_records_stored_before_it_once(folder):
    # An association that has synced for months adds the platform (here, an export) as a
    # destination: only what changed from then on was sent there, its history never.
    config = (
        "store: sqlite:///hub.db\nconnections:\n"
        "  amal:\n    connector: csv\n    settings: {path: d.csv}\n    streams:\n      s: {entity: donation}\n{destinations}"
        "  birr:\n    connector: csv\n    settings: {path: b.csv}\n    streams:\n      s: {entity: donation}\n"
        "  export:\n    connector: jsonl\n    settings: {folder: export}\n"
        "  programs-only:\n    connector: jsonl\n    entities: [program]\n    settings: {folder: programs}\n"
    )
    rows = [_gift(f"D{i}") for i in range(1, 6)]
    folder.write_csv("d.csv", GIFT_HEADER, rows)
    folder.write_csv("b.csv", GIFT_HEADER, [_gift("B1", "A2", "50")])
    folder.write("hub.yaml", config.replace("{destinations}", ""))
    assert folder.hub("run", "amal").code == 0 and folder.hub("run", "birr").code == 0

    folder.write("hub.yaml", config.replace("{destinations}", "    destinations: [export, programs-only]\n"))
    rows[0][2] = "150"  # and one changed meanwhile
    folder.write_csv("d.csv", GIFT_HEADER, rows)
    r = folder.hub("run", "amal", "--json")
    assert r.code == 0, r.err
    [run] = json.loads(r.out)["runs"]
    assert (run["updated"], run["unchanged"], run["delivered"]) == (1, 4, 5)
    assert run["flags"] == ["export: 4 record(s) stored before it was a destination of amal are queued for it"]  # D1 went as changed
    sent = [json.loads(line) for line in (folder.path / "export" / "donation.jsonl").read_text().splitlines()]
    assert sorted((d["id"], d["amount"]) for d in sent) == [("D1", "150"), ("D2", "100"), ("D3", "100"), ("D4", "100"), ("D5", "100")]
    assert not (folder.path / "programs").exists(), "a destination of programs only is given no donation"

    again = json.loads(folder.hub("run", "amal", "--json").out)["runs"][0]
    assert (again["delivered"], again["flags"]) == (0, []), "given once"
    assert len((folder.path / "export" / "donation.jsonl").read_text().splitlines()) == 5


def test_a_store_upgraded_from_before_takes_the_destinations_it_delivered_to_as_begun(tmp_path):
    # Nothing is sent twice on upgrade: a pair found in the outbox through its run has begun.
    import sqlite3

    from alembic import command
    from sqlalchemy import create_engine

    from hub.store import Store
    from hub.store.db import _alembic_config

    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = create_engine(url)
    with engine.begin() as conn:
        command.upgrade(_alembic_config(conn), "0009")
        conn.exec_driver_sql(
            "INSERT INTO runs (id, connection, trigger, status, scheduled_for, attempts, read, valid, inserted, updated, unchanged,"
            " quarantined, delivered, delivery_failed) VALUES (7, 'amal', 'manual', 'succeeded', '2026-10-01 00:00:00', 0, 1, 1, 1,"
            " 0, 0, 0, 1, 0)"
        )
        conn.exec_driver_sql(
            "INSERT INTO outbox (destination, entity, key, version, idempotency_key, payload, status, attempts, run_id, created_at)"
            " VALUES ('export', 'donation', 'A1|D1', 1, 'donation:A1|D1:v1:x', '{}', 'delivered', 1, 7, '2026-10-01 00:00:00')"
        )
    engine.dispose()
    Store.open(url).close()
    db = sqlite3.connect(tmp_path / "old.db")
    assert db.execute("select connection, destination, queued from deliveries_begun").fetchall() == [("amal", "export", 0)]
    db.close()


def test_resend_gives_a_destination_that_lost_what_it_was_given_everything_again(folder):
    # The export's folder wiped (or the platform restored from last week's backup): the outbox
    # counts those records delivered, and nothing would ever send them again.
    folder.write(
        "hub.yaml",
        "store: sqlite:///hub.db\nconnections:\n"
        "  amal:\n    connector: csv\n    settings: {path: d.csv}\n    streams:\n      s: {entity: donation}\n    destinations: [export]\n"
        "  export:\n    connector: jsonl\n    settings: {folder: export}\n",
    )
    folder.write_csv("d.csv", GIFT_HEADER, [_gift(f"D{i}") for i in range(1, 5)])
    assert folder.hub("run", "amal").code == 0
    (folder.path / "export" / "donation.jsonl").unlink()
    folder.execute("DELETE FROM outbox WHERE key = ?", ("A1|D4",))  # and one row gone with retention

    r = folder.hub("resend", "amal", "--to", "export", "--json")
    assert r.code == 0, r.err
    assert json.loads(r.out) == {"connection": "amal", "destination": "export", "again": 3, "added": 1}
    sent = folder.hub("run", "export", "--json")
    assert sent.code == 0 and json.loads(sent.out)["runs"][0]["delivered"] == 4
    lines = (folder.path / "export" / "donation.jsonl").read_text().splitlines()
    assert sorted(json.loads(x)["id"] for x in lines) == ["D1", "D2", "D3", "D4"]
    [entry] = json.loads(folder.hub("audit", "list", "--json").out)
    assert (entry["action"], entry["detail"]) == ("outbox.resend", {"destination": "export", "again": 3, "added": 1})
    assert json.loads(folder.hub("run", "amal", "--json").out)["runs"][0]["delivered"] == 0, "sent once"

    wrong = folder.hub("resend", "amal", "--to", "amal")
    assert wrong.code == 2 and "'amal' is not a destination of 'amal' (its destinations: export)" in wrong.err

    # A JSON Lines folder cannot say what it holds: compare says so and points to resend.
    cannot = folder.hub("compare", "amal", "--with", "export")
    assert cannot.code == 2 and "export (jsonl) cannot say what it holds" in cannot.err
    assert "`hub resend amal --to export` sends everything again" in cannot.err and "Traceback" not in cannot.err
