"""The engine, reconciliation and the scheduler on a real PostgreSQL store (HUB_STORE points at it)."""

from __future__ import annotations

import json
import signal
import time

from sqlalchemy import create_engine, text

from tests.conftest import DONATION_HEADER, DONATIONS_CONFIG, donation_rows
from tests.reconcile.builders import Line, camt053
from tests.reconcile.test_matching import donation


def _sql(url: str, query: str):
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(query))]
    finally:
        engine.dispose()


def test_pipeline_is_idempotent_versioned_and_quarantines_on_postgres(folder, pg_url):
    env = {"HUB_STORE": pg_url}
    folder.write("hub.yaml", DONATIONS_CONFIG.format(batch_size=3))
    rows = donation_rows(7) + [["D9", "سمير", "ألف", "SYP", "15/10/2026", "نقدي"]]
    folder.write_csv("donations.csv", DONATION_HEADER, rows)
    r = folder.hub("run", "amal", "--json", env=env)
    assert r.code == 1, r.err
    run = json.loads(r.out)["runs"][0]
    assert (run["inserted"], run["quarantined"], run["delivered"]) == (7, 1, 7)
    assert not (folder.path / "hub.db").exists(), "nothing went to the SQLite default"
    rows[3][2] = "5"
    folder.write_csv("donations.csv", DONATION_HEADER, rows)
    run = json.loads(folder.hub("run", "amal", "--json", env=env).out)["runs"][0]
    assert (run["inserted"], run["updated"], run["unchanged"]) == (0, 1, 6)
    assert _sql(pg_url, "select count(*), max(version) from records") == [(7, 2)]
    assert _sql(pg_url, "select key, version from record_history") == [("assoc-amal|D0000003", 1)]
    assert _sql(pg_url, "select count(*) from quarantine") == [(1,)]
    assert folder.hub("audit", "verify", env=env).code == 0
    assert folder.hub("state", "rewind", "amal", env=env).code == 0
    assert folder.hub("audit", "verify", env=env).code == 0


def test_sigkill_mid_run_then_resume_on_postgres(folder, pg_url):
    env = {"HUB_STORE": pg_url}
    n = 60_000
    folder.write("hub.yaml", DONATIONS_CONFIG.format(batch_size=2000).replace("    destinations: [export]\n", ""))
    folder.write_csv("donations.csv", DONATION_HEADER, donation_rows(n))
    import os
    import subprocess
    import sys

    proc = subprocess.Popen(
        [sys.executable, "-m", "hub", "run", "amal"],
        cwd=folder.path,
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 120
    count = 0
    while count < n // 4:
        assert proc.poll() is None and time.monotonic() < deadline
        try:
            count = _sql(pg_url, "select count(*) from records")[0][0]
        except Exception:  # noqa: BLE001 - tables not created yet
            count = 0
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    r = folder.hub("run", "amal", "--json", env=env)
    assert r.code == 0, r.err
    assert _sql(pg_url, "select count(*), count(distinct key) from records") == [(n, n)]
    cursor = json.loads(_sql(pg_url, "select cursor from stream_state")[0][0])
    assert (cursor["rows"], cursor["complete"]) == (n, True)


def test_reconciliation_on_postgres(folder, pg_url):
    env = {"HUB_STORE": pg_url}
    folder.write(
        "hub.yaml",
        "connections:\n  donations:\n    connector: jsonl\n    settings: {path: d.jsonl}\n    streams:\n      d: {entity: donation}\n"
        "  bank:\n    connector: statement\n    settings: {path: s.xml}\n",
    )
    folder.write("d.jsonl", json.dumps(donation("D1", "100", "USD", "2026-10-01", ref="AMAL-1001")) + "\n")
    folder.write("s.xml", camt053([Line("T1", "100", ustrd=["AMAL-1001"])]))
    folder.hub("run", "donations", env=env)
    folder.hub("run", "bank", env=env)
    out = json.loads(folder.hub("reconcile", "--json", env=env).out)
    assert out["matched"] == [{"transaction": "T1", "donations": ["D1"], "kind": "full", "rule": "reference", "score": 0.98}]
    data = json.loads(_sql(pg_url, "select data from records where key = 'A1|D1'")[0][0])
    assert data["status"] == "received"


def test_two_schedulers_one_slot_one_run_on_postgres(folder, pg_url):
    env = {"HUB_STORE": pg_url}
    folder.write(
        "hub.yaml",
        "connections:\n  a:\n    connector: csv\n    settings: {path: a.csv}\n    streams:\n      s: {entity: association}\n    schedule: {every: {seconds: 1}}\n",
    )
    folder.write_csv("a.csv", ["id", "name_ar", "governorate", "status"], [["a1", "جمعية", "SY01", "active"]])
    assert folder.hub("schedule", "list", env=env).code == 0
    import os
    import subprocess
    import sys

    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "hub", "serve", "--port", "0"],
            cwd=folder.path,
            env={**os.environ, **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for _ in range(2)
    ]
    try:
        deadline = time.monotonic() + 30
        while _sql(pg_url, "select count(*) from runs")[0][0] < 4:
            assert time.monotonic() < deadline
            time.sleep(0.2)
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            assert p.wait(timeout=30) == 0
    slots = _sql(pg_url, "select scheduled_for, count(*) from runs group by scheduled_for")
    assert slots and all(c == 1 for _, c in slots)


def test_migrations_match_the_models_on_postgres(pg_url, pg_databases):
    from tests.schema_shape import assert_new_store_matches_migrated

    other = pg_databases.take()
    try:
        assert_new_store_matches_migrated(pg_url, other)
    finally:
        pg_databases.drop(other)


def test_new_records_are_copied_in_as_written_and_a_refused_copy_fails_as_the_insert_would_on_postgres(pg_url):
    # New records reach PostgreSQL through COPY (hub.store.bulk), whose text format has its own
    # escapes for tabs, newlines and backslashes. A refused COPY quotes the row it refused; the
    # error a caller reads must be the INSERT's, SQLAlchemy's own and without the records.
    import pytest
    from sqlalchemy import event, select
    from sqlalchemy.exc import IntegrityError

    from hub.pipeline.prepare import canonical
    from hub.store import Store
    from hub.store.models import records_table
    from hub.store.records import Prepared, upsert_batch
    from hub.store.types import utcnow

    awkward = "جمعية\tالأمل\nسطر ثانٍ \\N \\. \\ \u0000 \r"
    records = [
        {"id": f"A{i}", "association_id": f"a{i}", "name_ar": awkward + str(i), "governorate": "SY01", "status": "active"} for i in range(3)
    ]
    items = [Prepared(f"a{i}|A{i}", *canonical(r), f"a{i}") for i, r in enumerate(records)]
    now = utcnow()
    store = Store.open(pg_url)
    seen: list[str] = []
    event.listen(store.engine, "after_cursor_execute", lambda conn, cursor, statement, *rest: seen.append(statement))
    try:
        with store.engine.begin() as conn:
            assert upsert_batch(conn, "association", items, connection="t", run_id=None, now=now).inserted == 3
        assert any(s.startswith("COPY records ") for s in seen), "statement listeners see the COPY"
        with store.engine.connect() as conn:
            rows = conn.execute(
                select(records_table.c.key, records_table.c.data, records_table.c.created_at).order_by(records_table.c.id)
            ).all()
        assert [(key, data) for key, data, _ in rows] == [(it.key, it.data) for it in items]
        assert json.loads(rows[0].data)["name_ar"] == awkward + "0" and all(r.created_at == now for r in rows)
        # A key already stored, given as new: the unique key refuses the COPY, then the INSERT.
        seen.clear()
        with pytest.raises(IntegrityError) as refused, store.engine.begin() as conn:
            upsert_batch(conn, "association", items[:1], connection="t", run_id=None, now=now, stored={})
        said = str(refused.value)
        assert "uq_records_entity_key" in said and "INSERT INTO records" in said
        assert "جمعية" not in said and "COPY" not in said  # the record's content is not in it (its key is, as before)
        with store.engine.connect() as conn:
            assert len(conn.execute(select(records_table.c.id)).all()) == 3
    finally:
        store.close()


def test_batch_lookups_outbox_marks_and_writer_turns_on_postgres(pg_url, monkeypatch):
    from hub.store import Store
    from tests.hub.test_store import check_key_lookup, check_outbox_marks, check_writers_take_turns

    store = Store.open(pg_url)
    try:
        assert store.dialect == "postgresql"
        check_key_lookup(store, monkeypatch)
        monkeypatch.undo()
        check_outbox_marks(store, monkeypatch)
        check_writers_take_turns(store)
    finally:
        store.close()


def test_the_api_answers_503_while_the_store_is_away_and_recovers_after(folder, pg_url, pg_server):
    """The platform's database refuses connections for a while (a failover, a restart)."""
    import httpx

    from tests.conftest import DONATION_RECORD, served_port, wait_for
    from tests.pg_server import DatabaseAway

    env = {"HUB_STORE": pg_url}
    folder.write("hub.yaml", "store: sqlite:///hub.db\n")
    token = json.loads(folder.hub("tokens", "create", "amal", "--association", "assoc-amal", "--write", "--json", env=env).out)["token"]
    server = folder.popen("serve", "--port", "0", env=env)
    push = {"json": {"records": [DONATION_RECORD]}, "headers": {"Authorization": f"Bearer {token}"}, "timeout": 30}
    try:
        url = f"http://127.0.0.1:{served_port(server, timeout=30)}"

        def ready() -> bool:
            try:
                return httpx.get(f"{url}/readyz", timeout=1).status_code == 200
            except httpx.TransportError:
                return False

        assert wait_for(ready, timeout=30)
        with DatabaseAway(pg_server, pg_url) as away:
            away.go()
            # Away long enough for the scheduler's loop, which reads schedule commands each second,
            # to meet it: that ended `hub serve`, API and all (a CI run's POST found nothing listening).
            assert wait_for(lambda: "store unavailable: cannot read schedule commands" in server.stderr.read(), timeout=30)
            assert server.poll() is None, "hub serve keeps running while its store is away"
            r = httpx.post(f"{url}/api/v1/donation/batch", **push)
            assert r.status_code == 503 and r.headers["retry-after"] and "store is not available" in r.json()["detail"], r.text
            assert httpx.get(f"{url}/readyz").status_code == 503
            assert httpx.get(f"{url}/healthz").status_code == 200  # alive: restarting it would not help
            away.back()
            r = httpx.post(f"{url}/api/v1/donation/batch", **push)
            assert r.status_code == 200 and r.json()["accepted"] == 1, r.text
            assert wait_for(lambda: "store available again" in server.stderr.read(), timeout=30)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    log = server.stderr.read()
    assert "Traceback" not in log and "store unavailable" in log


def test_a_destination_table_on_postgres_refuses_one_record_and_takes_the_rest(folder, pg_url):
    # An association's table on PostgreSQL with a name column too short for one donor's name:
    # the batch was deferred as a whole, every run, and the records behind it waited forever.
    from tests.connectors.test_folder_and_destinations import FOLDER_CONFIG, drop_three_gifts

    engine = create_engine(pg_url)
    with engine.begin() as conn:
        conn.execute(
            text(
                "create table tabarruat (association_id text, id text, amount text, donor_name varchar(10), primary key (association_id, id))"
            )
        )
    engine.dispose()
    folder.write("hub.yaml", FOLDER_CONFIG.replace('url: "sqlite:///own.db", create_tables: true', f'url: "{pg_url}"'))
    r = drop_three_gifts(folder, second_donor="عبد الرحمن بن محمد")
    [entry] = json.loads(folder.hub("quarantine", "list", "--json").out)
    assert (entry["connection"], entry["raw"]["id"]) == ("own-db", "R2")
    assert "value too long for type character varying(10)" in entry["errors"][0]["message"]
    assert _sql(pg_url, "select id, donor_name from tabarruat order by id") == [("R1", "سامي"), ("R3", "ليلى")]
    assert json.loads(r.out)["runs"][0]["delivered"] == 5, "three to the workbook, two to the table"


def test_a_first_large_load_keeps_the_planner_statistics_up_with_it(folder, pg_url):
    # Planned on statistics of an empty table, each batch's key lookup read every record of
    # the entity: a 100,000-record first load through the API took 81 s instead of 11 s
    # The hub analyses a table it has doubled since the last time, from 5,000 rows on (hub.store.freshness).
    folder.write("hub.yaml", DONATIONS_CONFIG.format(batch_size=500).replace("    destinations: [export]\n", ""))
    folder.write_csv("donations.csv", DONATION_HEADER, donation_rows(6000))
    r = folder.hub("run", "amal", "--json", env={"HUB_STORE": pg_url})
    assert r.code == 0, r.err

    def analysed() -> bool:  # by the hub: autovacuum's own analyses are counted apart (last_autoanalyze)
        return _sql(pg_url, "select last_analyze is not null from pg_stat_user_tables where relname = 'records'") == [(True,)]

    deadline = time.monotonic() + 30
    while not analysed():
        assert time.monotonic() < deadline, "the hub never analysed the records it loaded"
        time.sleep(0.2)
    [(estimate,)] = _sql(pg_url, "select reltuples from pg_class where relname = 'records'")
    assert estimate >= 4500, "the statistics describe the table as it grew (analysed as it passed 5,000), not as it was empty"
    keys = ", ".join(f"'assoc-amal|D{i:07d}'" for i in range(0, 6000, 600))
    [(plan,)] = _sql(pg_url, f"explain (format json) select id, hash from records where entity = 'donation' and key = any(array[{keys}])")
    assert json.dumps(plan).count("uq_records_entity_key") == 1, "the batch's key lookup goes by the unique index"


def test_backup_and_restore_point_a_postgresql_store_to_its_own_tools(folder, pg_url):
    # Copying pages is for the embedded file; a server's store has pg_dump, snapshots and PITR.
    env = {"HUB_STORE": pg_url}
    folder.write("hub.yaml", "store: sqlite:///hub.db\n")
    assert folder.hub("tokens", "create", "amal", "--association", "assoc-amal", env=env).code == 0
    for args in (("backup", "copy.db"), ("restore", "--yes", "copy.db")):
        r = folder.hub(*args, env=env)
        assert r.code == 2 and "is not an SQLite file" in r.err and "pg_dump" in r.err, r.err
        assert "Traceback" not in r.err
    assert not (folder.path / "copy.db").exists() and not (folder.path / "hub.db").exists()
