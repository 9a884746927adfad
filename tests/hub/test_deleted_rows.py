"""``report_deleted``: a run that reads a whole register names the records whose rows were deleted from it."""

from __future__ import annotations

import hashlib
import json
import sqlite3

from tests.conftest import DONATION_HEADER, DONATIONS_CONFIG, donation_rows

GONE = "donations: 2 record(s) stored before are no longer in the source: assoc-amal|D0000002, assoc-amal|D0000005"


def _config(report_deleted: bool = True) -> str:
    line = "        report_deleted: true\n" if report_deleted else ""
    return DONATIONS_CONFIG.format(batch_size=3).replace("        entity: donation\n", "        entity: donation\n" + line, 1)


def _run(folder) -> dict:
    r = folder.hub("run", "amal", "--json")
    assert r.code == 0, r.err
    return json.loads(r.out)["runs"][0]


def _register(folder, rows) -> None:
    folder.write_csv("donations.csv", DONATION_HEADER, rows)


def test_rows_deleted_from_a_register_are_named_every_run_and_kept_until_they_are_back(folder):
    folder.write("hub.yaml", _config())
    rows = donation_rows(8)
    _register(folder, rows)
    assert _run(folder)["flags"] == []

    _register(folder, [r for i, r in enumerate(rows) if i not in (2, 5)])
    run = _run(folder)
    assert run["status"] == "succeeded" and (run["read"], run["unchanged"]) == (6, 6)
    [flag] = run["flags"]
    assert flag.startswith(GONE + ". The hub and its destinations still hold them"), flag
    assert folder.sql("select count(*) from records") == [(8,)], "nothing is deleted"
    exported = (folder.path / "export" / "donation.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(exported) == 8, "nor withdrawn from a destination"
    assert _run(folder)["flags"] == [flag], "said again while the source lacks them"

    _register(folder, rows)
    assert _run(folder)["flags"] == []


def test_a_quarantined_row_is_still_in_the_source_and_one_without_a_key_may_be_among_the_deleted(folder):
    folder.write("hub.yaml", _config())
    rows = donation_rows(8)
    _register(folder, rows)
    _run(folder)
    rows[6] = [rows[6][0], rows[6][1], "ألف", *rows[6][3:]]  # an amount in words: quarantined, its key known
    rows[7] = ["", *rows[7][1:]]  # its receipt number erased: quarantined, no key
    _register(folder, [r for i, r in enumerate(rows) if i not in (2, 5)])
    r = folder.hub("run", "amal", "--json")
    assert r.code == 1
    [flag] = json.loads(r.out)["runs"][0]["flags"]
    said = "donations: 3 record(s) stored before are no longer in the source: assoc-amal|D0000002, assoc-amal|D0000005, assoc-amal|D0000007"
    assert flag.startswith(said + "; 1 row(s) of this read were quarantined without a key, and may be among them."), flag


def test_a_file_that_holds_a_period_names_nothing_unless_the_stream_says_it_holds_every_record(folder):
    """This month's export replaces last month's: last month's records are not deleted ones."""
    folder.write("hub.yaml", _config(report_deleted=False))
    _register(folder, donation_rows(4))
    _run(folder)
    _register(folder, donation_rows(4, start=4))
    run = _run(folder)
    assert (run["inserted"], run["flags"]) == (4, [])


def test_a_read_that_resumes_halfway_through_the_file_does_not_take_the_rows_before_for_deleted(folder):
    folder.write("hub.yaml", _config())
    rows = donation_rows(8)
    path = folder.path / "donations.csv"
    _register(folder, rows)
    _run(folder)
    # As a run killed after committing its second batch leaves it: six rows read of this file.
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    cursor = json.dumps({"file": digest, "rows": 6, "complete": False})
    assert folder.hub("state", "set", "amal", "--stream", "donations", cursor).code == 0
    run = _run(folder)
    assert (run["read"], run["flags"]) == (2, [])
    assert _run(folder)["flags"] == [], "the next run reads the whole file again and finds every row"


# An association's accounting database read with one query; ``{options}`` adds to the stream's options.
ERP_CONFIG = """\
store: sqlite:///hub.db
connections:
  erp:
    connector: sql
    settings: {{url: "sqlite:///erp.db"}}
    streams:
      gifts:
        entity: donation
        report_deleted: true
        options: {{query: "select ref, amount from gifts"{options}}}
        mapping:
          id: ref
          association_id: {{const: assoc-1}}
          amount: {{column: amount, type: decimal}}
          currency: {{const: SYP}}
          donated_at: {{const: "2026-10-01T09:00:00+03:00"}}
          channel: {{const: direct}}
          status: {{const: received}}
"""


def _erp(folder, gifts: list[tuple[str, int]]) -> sqlite3.Connection:
    db = sqlite3.connect(folder.path / "erp.db")
    db.execute("create table gifts (ref text primary key, amount numeric)")
    db.executemany("insert into gifts values (?, ?)", gifts)
    db.commit()
    return db


def test_a_query_without_a_cursor_column_names_the_rows_deleted_from_its_table(folder):
    folder.write("hub.yaml", ERP_CONFIG.format(options=""))
    db = _erp(folder, [("G1", 100), ("G2", 250), ("G3", 75)])
    assert folder.hub("run", "erp").code == 0
    db.execute("delete from gifts where ref = 'G2'")
    db.commit()
    db.close()
    run = json.loads(folder.hub("run", "erp", "--json").out)["runs"][0]
    assert run["flags"][0].startswith("gifts: 1 record(s) stored before are no longer in the source: assoc-1|G2."), run["flags"]


def test_report_deleted_on_a_source_read_incrementally_is_refused(folder):
    folder.write("hub.yaml", ERP_CONFIG.format(options=", cursor_column: ref"))
    _erp(folder, []).close()
    for command in ("check", "run"):
        r = folder.hub(command, "erp")
        assert r.code == 2, command
        assert "connections.erp.streams.gifts.report_deleted: this connector reads its source incrementally" in r.err
        assert "a query without a cursor_column" in r.err and "Traceback" not in r.err
