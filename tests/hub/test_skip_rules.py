"""A stream's skip rules: rows that are not records (a totals row, a repeated heading) are counted, not quarantined."""

from __future__ import annotations

import json

import pytest

from tests.conftest import DONATION_HEADER, DONATION_RECORD, DONATIONS_CONFIG, donation_rows

# What an accounting program's export carries besides donations: its heading again where a
# second page began, a totals row (written without the hamza the rule has), and a note row.
NOT_RECORDS = [
    DONATION_HEADER,
    ["الاجمالي", "", "11,045.00", "", "", ""],
    ["", "ملاحظة: المبالغ بالليرة الجديدة", "", "", "", ""],
]

SKIP = """\
        skip:
          - {column: رقم الإيصال, equals: [المجموع, الإجمالي]}
          - {column: رقم الإيصال, matches: "^رقم"}
          - {column: [رقم الإيصال, المبلغ], empty: true}
"""


def _config(skip: str = SKIP, parallel: bool = True) -> str:
    config = DONATIONS_CONFIG.format(batch_size=4).replace("        entity: donation\n", "        entity: donation\n" + skip, 1)
    return config.replace("batch_size: 4\n", f"batch_size: 4\nparallel: {str(parallel).lower()}\n", 1)


def _write_export(folder) -> None:
    rows = donation_rows(10)
    folder.write_csv("donations.csv", DONATION_HEADER, rows[:5] + NOT_RECORDS[:1] + rows[5:] + NOT_RECORDS[1:], encoding="utf-8-sig")


@pytest.mark.parametrize("parallel", [True, False], ids=["forked reader", "one process"])
def test_rows_the_skip_rules_name_are_counted_as_skipped_and_neither_stored_nor_quarantined(folder, parallel):
    folder.write("hub.yaml", _config(parallel=parallel))
    _write_export(folder)
    r = folder.hub("run", "amal", "--json")
    assert r.code == 0, r.err
    [run] = json.loads(r.out)["runs"]
    assert (run["status"], run["read"], run["inserted"], run["quarantined"], run["skipped"]) == ("succeeded", 13, 10, 0, 3)
    assert folder.sql("select count(*) from records") == [(10,)]
    assert folder.sql("select count(*) from quarantine") == [(0,)]
    exported = (folder.path / "export" / "donation.jsonl").read_text(encoding="utf-8").splitlines()
    assert sorted(json.loads(x)["id"] for x in exported) == [f"D{i:07d}" for i in range(10)]
    listed = folder.hub("runs", "--json")
    assert json.loads(listed.out)[0]["skipped"] == 3

    again = json.loads(folder.hub("run", "amal", "--json").out)["runs"][0]
    assert (again["read"], again["skipped"], again["unchanged"], again["quarantined"]) == (13, 3, 10, 0), "the file is read whole again"


def test_hub_check_says_how_many_of_the_first_rows_would_be_skipped(folder):
    folder.write("hub.yaml", _config())
    _write_export(folder)
    r = folder.hub("check", "amal")
    assert r.code == 0, r.err
    assert "13 row(s) through the mapping and the schema: 10 would be stored, 3 skipped (the stream's skip rules: line 7, 13, 14)" in r.out
    [stream] = json.loads(folder.hub("check", "amal", "--json").out)["streams"]
    trial = stream["trial"]
    assert (trial["would_store"], trial["would_skip"], trial["skipped_lines"], trial["would_quarantine"]) == (10, 3, [7, 13, 14], [])


def test_a_row_of_empty_cells_is_not_a_record(folder):
    """A spreadsheet saved as CSV writes ",,,,," for each formatted, empty row: neither read nor quarantined."""
    folder.write("hub.yaml", _config(skip=""))
    rows = donation_rows(3)
    folder.write_csv("donations.csv", DONATION_HEADER, [rows[0], [""] * 6, rows[1], [" ", "", "\t", "", "", ""], rows[2]])
    r = folder.hub("run", "amal", "--json")
    assert r.code == 0, r.err
    [run] = json.loads(r.out)["runs"]
    assert (run["read"], run["inserted"], run["quarantined"]) == (3, 3, 0)


def test_a_skip_rule_naming_a_column_the_file_lacks_stops_the_run_before_it_reads(folder):
    """An ``empty`` rule on a misspelt column would skip every row: the run refuses it instead."""
    folder.write("hub.yaml", _config(skip="        skip:\n          - {column: رقم الايصال, empty: true}\n"))
    _write_export(folder)
    r = folder.hub("run", "amal")
    assert r.code == 2
    assert "column(s) 'رقم الايصال' not found (named in connections.amal.streams.donations.skip)" in r.err
    assert "the source has: رقم الإيصال, اسم المتبرع" in r.err and "Traceback" not in r.err
    assert folder.sql("select count(*) from records") == [(0,)]


@pytest.mark.parametrize(
    ("rule", "said"),
    [
        (
            '{column: المبلغ, equals: "0", empty: true}',
            "connections.amal.streams.donations.skip[0]: give exactly one of equals, matches or empty",
        ),
        ('{column: المبلغ, matches: "(صفر"}', "connections.amal.streams.donations.skip[0].matches: '(صفر' is not a regular expression"),
        ("{column: المبلغ, equal: صفر}", "connections.amal.streams.donations.skip.0: unknown key 'equal'; did you mean 'equals'?"),
        ("{column: المبلغ, empty: false}", "connections.amal.streams.donations.skip.0.empty: True was expected"),
    ],
    ids=["two conditions", "bad pattern", "misspelt condition", "empty false"],
)
def test_a_wrong_skip_rule_is_refused_with_where_it_is(folder, rule, said):
    folder.write("hub.yaml", _config(skip=f"        skip:\n          - {rule}\n"))
    _write_export(folder)
    r = folder.hub("run", "amal")
    assert r.code == 2
    assert said in r.err and "Traceback" not in r.err


def test_replaying_a_totals_row_quarantined_before_the_rule_was_written_dismisses_it(folder):
    folder.write("hub.yaml", _config(skip=""))
    _write_export(folder)
    assert folder.hub("run", "amal").code == 1  # the three rows are quarantined: no rule names them yet
    assert folder.sql("select count(*) from quarantine where status = 'open'") == [(3,)]

    folder.write("hub.yaml", _config())
    r = folder.hub("quarantine", "replay", "--connection", "amal", "--json")
    assert r.code == 0, r.err
    result = json.loads(r.out)
    assert (result["replayed"], result["still_invalid"]) == ([], [])
    assert [s["reason"] for s in result["skipped"]] == ["dismissed: the stream's skip rules name this row as not a record"] * 3
    assert folder.sql("select status, count(*) from quarantine group by status") == [("dismissed", 3)]
    audited = folder.sql("select action, detail from audit_log where action = 'quarantine.dismiss'")
    assert len(audited) == 3 and all("skip rules" in detail for _, detail in audited)


def test_a_run_whose_skip_rules_skipped_every_row_says_so(folder):
    """JSON Lines have no header to check a rule's column against: a misspelt field in an ``empty`` rule skips all."""
    folder.write(
        "hub.yaml",
        """\
store: sqlite:///hub.db
connections:
  feed:
    connector: jsonl
    settings: {path: gifts.jsonl}
    streams:
      gifts:
        entity: donation
        skip:
          - {column: recipt, empty: true}
""",
    )
    rows = [{**DONATION_RECORD, "id": f"D{i}", "receipt": f"R{i}"} for i in range(3)]
    folder.write("gifts.jsonl", "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    r = folder.hub("run", "feed", "--json")
    assert r.code == 0, r.err
    [run] = json.loads(r.out)["runs"]
    assert (run["read"], run["skipped"], run["inserted"]) == (3, 3, 0)
    assert run["flags"] == ["gifts: the skip rules skipped every one of the 3 row(s) read: does a rule name a column the rows lack?"]
