"""When the machine says no: a full disk under the store or a destination's files, a store server that is not there.

Each is said in words with what to do, not as an internal error to report; nothing half-written
is kept and nothing is lost.

The store's disk is made full the way SQLite itself sees it: a plugin caps the database at a
number of pages (``PRAGMA max_page_count``), and SQLite answers "database or disk is full"
exactly as on a disk with no room left. A destination's disk is ``/dev/full``, which refuses
every write with ENOSPC.
"""

from __future__ import annotations

import json

import orjson

from hub.localport import free_port
from tests.conftest import DONATION_HEADER, DONATIONS_CONFIG, HubFolder, donation_rows

ROWS, BATCH = 5_000, 1_000

CAP_THE_STORE = """
import os

from sqlalchemy import event
from sqlalchemy.pool import Pool

CAP = int(os.environ.get("STORE_PAGES", "0"))


@event.listens_for(Pool, "checkout")
def cap(dbapi_conn, record, proxy):
    if CAP:
        dbapi_conn.execute(f"PRAGMA max_page_count = {CAP}")
"""


def test_a_full_disk_under_the_store_is_said_in_words_and_the_next_run_resumes(tmp_path):
    folder = HubFolder(tmp_path)  # an SQLite file: the disk under it is the hub's own
    config = DONATIONS_CONFIG.format(batch_size=BATCH).replace("    destinations: [export]\n", "")
    folder.write("hub.yaml", config + "plugins: {folders: [plugins]}\n")
    folder.write_csv("donations.csv", DONATION_HEADER, donation_rows(ROWS))
    folder.write("plugins/cap_the_store.py", CAP_THE_STORE)
    assert folder.hub("runs").code == 0  # the store, empty
    [(pages,)] = folder.sql("pragma page_count")

    r = folder.hub("run", "amal", env={"STORE_PAGES": str(pages + 50)})

    assert r.code == 2, r.err
    assert "error: store: the disk holding it is full (database or disk is full)" in r.err
    assert "hint: free space on that disk and run again: a run resumes after its last committed batch" in r.err
    assert "internal error" not in r.err and "Traceback" not in r.err and "sqlalche.me" not in r.err
    [(status, error)] = folder.sql("select status, error from runs")
    assert status == "failed" and error.startswith("store: the disk holding it is full"), error
    [(stored,)] = folder.sql("select count(*) from records")
    assert 0 < stored < ROWS and stored % BATCH == 0, "whole batches only: the one that did not fit was not kept"

    r = folder.hub("run", "amal", "--json")  # room again
    assert r.code == 0, r.err
    assert json.loads(r.out)["runs"][0]["inserted"] == ROWS - stored
    assert folder.sql("select count(*), count(distinct key) from records") == [(ROWS, ROWS)]


def _lines(path) -> list[dict]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines()]


def test_a_full_disk_under_an_export_keeps_the_records_waiting_not_quarantined(folder):
    folder.write("hub.yaml", DONATIONS_CONFIG.format(batch_size=BATCH))
    folder.write_csv("donations.csv", DONATION_HEADER, donation_rows(ROWS))
    (folder.path / "export").mkdir()
    export = folder.path / "export" / "donation.jsonl"
    export.symlink_to("/dev/full")

    r = folder.hub("run", "amal", "--json")

    assert r.code == 75, r.err  # stored; the destination could not take it now
    run = json.loads(r.out)["runs"][0]
    assert (run["status"], run["inserted"], run["delivered"], run["quarantined"]) == ("partial", ROWS, 0, 0)
    assert run["flags"] == [f"delivery deferred: export: {export}: No space left on device (500 deferred)"]
    assert "internal error" not in r.err and "Traceback" not in r.err
    assert folder.sql("select status, count(*) from outbox group by status") == [("pending", ROWS)]
    assert json.loads(folder.hub("quarantine", "list", "--json").out) == []

    export.unlink()  # room again
    r = folder.hub("run", "amal", "--retry-now", "--json")
    assert r.code == 0, r.err
    assert json.loads(r.out)["runs"][0]["delivered"] == ROWS
    assert sorted(x["id"] for x in _lines(export)) == [f"D{i:07d}" for i in range(ROWS)]


def test_an_export_whose_last_line_was_cut_short_is_mended_before_the_next_is_appended(donations):
    export = donations.path / "export" / "donation.jsonl"
    assert donations.hub("run", "amal").code == 0
    whole = export.read_bytes()
    assert len(_lines(export)) == 10
    # A process killed in the middle of appending: half a record, no newline. Its batch was
    # never marked delivered, so it goes out again.
    fragment = b'{"amount": "1000.50", "association_id": "assoc-am'
    export.write_bytes(whole + fragment)
    donations.sql("update outbox set status = 'pending', delivered_at = null where key = ?", ("assoc-amal|D0000009",))

    r = donations.hub("run", "amal", "--json")

    assert r.code == 0, r.err
    assert json.loads(r.out)["runs"][0]["delivered"] == 1
    assert f"removed an unfinished last line of {len(fragment)} bytes" in r.err
    assert export.read_bytes() == whole, "the fragment is gone and the record it began is not written twice"

    # A last record a person typed without the final newline is a record: it is kept.
    by_hand = b'{"id": "H1", "association_id": "assoc-amal", "amount": "5.00"}'
    export.write_bytes(whole + by_hand)
    donations.write_csv("donations.csv", DONATION_HEADER, donation_rows(11), encoding="utf-8-sig")
    assert donations.hub("run", "amal").code == 0
    ids = [x["id"] for x in _lines(export)]
    assert ids == [f"D{i:07d}" for i in range(10)] + ["H1", "D0000010"]


def test_a_store_server_that_is_not_there_is_said_in_words_and_worth_a_retry(donations):
    # Nothing listens on the port: the PostgreSQL server is down, or not started yet.
    url = f"postgresql+psycopg://hub:s3cret-pw@127.0.0.1:{free_port()}/wasl"
    for command in (["runs"], ["run", "amal"]):
        r = donations.hub(*command, env={"HUB_STORE": url})
        assert r.code == 75, r.err  # try again later, as for a connection running elsewhere
        assert "its server could not be reached" in r.err and "Connection refused" in r.err, r.err
        assert "hint: check that the database server is up" in r.err
        assert "s3cret-pw" not in r.err and "internal error" not in r.err and "Traceback" not in r.err
