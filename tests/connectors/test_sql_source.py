"""``sql`` source: any SQLAlchemy URL, incremental on a column, resumed from the committed cursor."""

from __future__ import annotations

import json
import sqlite3

CONFIG = """\
store: sqlite:///hub.db
connections:
  erp:
    connector: sql
    settings: {url: "sqlite:///erp.db"}
    streams:
      gifts:
        entity: donation
        options:
          query: "select g.ref, g.amount, g.given_at, d.name from gifts g join donors d on d.id = g.donor_id"
          cursor_column: given_at
        mapping:
          id: ref
          association_id: {const: assoc-1}
          amount: {column: amount, type: decimal}
          currency: {const: SYP}
          donated_at: {column: given_at, type: datetime}
          channel: {const: direct}
          status: {const: received}
          donor.name: name
"""


def _erp(path, rows):
    db = sqlite3.connect(path)
    db.execute("create table if not exists donors (id integer primary key, name text)")
    db.execute("create table if not exists gifts (ref text primary key, donor_id int, amount numeric, given_at text)")
    db.execute("insert or ignore into donors values (1, 'رنا مصطفى'), (2, 'Sami Haddad')")
    db.executemany("insert or replace into gifts values (?,?,?,?)", rows)
    db.commit()
    db.close()


def test_incremental_reads_only_newer_rows(folder):
    folder.write("hub.yaml", CONFIG)
    _erp(folder.path / "erp.db", [("G1", 1, 100, "2026-10-01 09:00:00"), ("G2", 2, 250.5, "2026-10-02 09:00:00")])
    assert folder.hub("check", "erp").code == 0
    r = folder.hub("run", "erp", "--json")
    assert r.code == 0, r.err
    assert json.loads(r.out)["runs"][0]["inserted"] == 2
    cursor = json.loads(folder.sql("select cursor from stream_state")[0][0])
    assert cursor == {"type": "plain", "value": "2026-10-02 09:00:00"}

    _erp(folder.path / "erp.db", [("G3", 1, 75, "2026-10-03 09:00:00"), ("G4", 2, 10, "2026-10-04 09:00:00")])
    run = json.loads(folder.hub("run", "erp", "--json").out)["runs"][0]
    assert (run["read"], run["inserted"], run["unchanged"]) == (3, 2, 1), "G2 (at the cursor) re-read and unchanged; G1 not read"
    got = {json.loads(d)["id"]: json.loads(d) for (d,) in folder.sql("select data from records")}
    assert set(got) == {"G1", "G2", "G3", "G4"}
    assert got["G2"]["amount"] == "250.5" and got["G1"]["donor"]["name"] == "رنا مصطفى"
    assert got["G3"]["donated_at"] == "2026-10-03T09:00:00+03:00"


def test_a_failing_query_is_a_clear_error(folder):
    folder.write("hub.yaml", CONFIG.replace("from gifts g", "from gift g"))
    _erp(folder.path / "erp.db", [])
    r = folder.hub("run", "erp")
    assert r.code == 2
    assert "Traceback" not in r.err and "no such table: gift" in r.err


def test_rows_without_a_cursor_value_do_not_stop_incremental_reads(folder):
    # Rows whose cursor column is empty used to save None as the cursor; the next run's
    # "changed >= NULL" then matched nothing, so no row, old or new, was read again.
    folder.write(
        "hub.yaml",
        CONFIG.replace(
            "select g.ref, g.amount, g.given_at, d.name from gifts g join donors d on d.id = g.donor_id",
            "select g.ref, g.amount, g.given_at, d.name, g.changed from gifts g join donors d on d.id = g.donor_id",
        ).replace("cursor_column: given_at", "cursor_column: changed"),
    )
    db = sqlite3.connect(folder.path / "erp.db")
    db.execute("create table donors (id integer primary key, name text)")
    db.execute("create table gifts (ref text primary key, donor_id int, amount numeric, given_at text, changed text)")
    db.execute("insert into donors values (1, 'رنا مصطفى')")
    db.execute("insert into gifts values ('G1', 1, 100, '2026-10-01 09:00:00', null), ('G2', 1, 20, '2026-10-02 09:00:00', null)")
    db.commit()
    first = folder.hub("run", "erp", "--json")
    assert first.code == 0 and json.loads(first.out)["runs"][0]["inserted"] == 2, first.err
    assert "erp/gifts: 2 row(s) have no changed; incremental reads pass over them" in first.err
    db.execute("insert into gifts values ('G3', 1, 75, '2026-10-03 09:00:00', '2026-10-03 10:00:00')")
    db.commit()
    db.close()
    run = json.loads(folder.hub("run", "erp", "--json").out)["runs"][0]
    assert (run["read"], run["inserted"]) == (3, 1), "G3 is read (and G1, G2 again, found unchanged)"
    assert json.loads(folder.sql("select cursor from stream_state")[0][0]) == {"type": "plain", "value": "2026-10-03 10:00:00"}


def test_check_tries_the_querys_first_rows_and_stores_nothing(folder):
    # An association's IT person writing the mapping sees what the query's rows would become
    # before any run: here an amount the ERP keeps as words, and a gift without a date.
    folder.write("hub.yaml", CONFIG)
    _erp(
        folder.path / "erp.db",
        [("G1", 1, 100, "2026-10-01 09:00:00"), ("G2", 2, "خمسون", "2026-10-02 09:00:00"), ("G3", 1, 75, "2026-10-03 09:00:00")],
    )
    r = folder.hub("check", "erp", "--json")
    assert r.code == 1, r.err
    [stream] = json.loads(r.out)["streams"]
    trial = stream["trial"]
    assert (trial["tried"], trial["would_store"]) == (3, 2)
    [refused] = trial["would_quarantine"]
    assert refused["line"] == 2 and "'خمسون' is not a number" in refused["errors"][0]["message"]
    if folder.store_url is None:
        assert not (folder.path / "hub.db").exists(), "a check creates no store"
    else:
        assert folder.sql("select count(*) from information_schema.tables where table_name = 'records'") == [(0,)]


def test_check_does_not_sort_the_source_table_for_a_look(folder):
    # An ERP's gifts table of millions of rows without an index on the cursor column: ordering
    # it all before the first row came made `hub check` wait for the whole sort. The check
    # asks for any few rows, and for the columns without fetching any.
    from sqlalchemy import Engine, event

    from hub.app import Hub
    from hub.services.checking import check_connection

    folder.write("hub.yaml", CONFIG)
    _erp(folder.path / "erp.db", [(f"G{i}", 1, 10 + i, f"2026-10-{1 + i % 28:02d} 09:00:00") for i in range(800)])
    sent: list[str] = []

    def note(_conn, _cursor, statement, *_args):
        if "gifts" in statement:
            sent.append(" ".join(statement.split()))

    event.listen(Engine, "before_cursor_execute", note)
    try:
        hub = Hub.from_path(folder.path / "hub.yaml")
        try:
            found = check_connection(hub, "erp")
        finally:
            hub.close()
    finally:
        event.remove(Engine, "before_cursor_execute", note)
    assert found["streams"][0]["trial"]["tried"] == 500 and found["streams"][0]["trial"]["would_store"] == 500
    assert sent and not [s for s in sent if "ORDER BY" in s.upper()], sent
    assert any("LIMIT" in s.upper() for s in sent), sent


def test_check_names_a_cursor_column_the_query_lacks(folder):
    folder.write("hub.yaml", CONFIG.replace("cursor_column: given_at", "cursor_column: givenat"))
    _erp(folder.path / "erp.db", [("G1", 1, 100, "2026-10-01 09:00:00")])
    r = folder.hub("check", "erp")
    assert r.code == 2, r.err
    assert "connections.erp: cursor_column 'givenat' is not a column of the query" in r.err
    assert "its columns: ref, amount, given_at, name" in r.err and "Traceback" not in r.err
    assert folder.hub("run", "erp").code == 2, "a run is refused the same way"
