"""The hub's own jobs on a schedule (reconcile, drain, retention) and ``hub schedule reload``."""

from __future__ import annotations

import json
import signal
import sqlite3
from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import wait_for
from tests.reconcile.builders import Line
from tests.reconcile.test_matching import donation
from tests.reconcile.test_store_mode import _setup as reconcile_setup

SOURCE = """\
store: sqlite:///hub.db
connections:
  a:
    connector: csv
    settings: {path: a.csv}
    streams:
      s: {entity: association}
    destinations: [export]
    {schedule_a}
  export:
    connector: jsonl
    settings: {folder: export}
{more}"""


def _config(folder, schedule_a="", more=""):
    folder.write("hub.yaml", SOURCE.replace("{schedule_a}", schedule_a).replace("{more}", more))
    folder.write_csv("a.csv", ["id", "name_ar", "governorate", "status"], [["a1", "جمعية", "SY01", "active"]])


def _runs(folder, connection):
    return json.loads(folder.hub("runs", "--connection", connection, "--limit", "100", "--json").out)


@pytest.fixture
def in_process(folder, monkeypatch):
    """The folder's hub opened in this process (on the suite's store)."""
    from hub.app import Hub

    if folder.store_url:
        monkeypatch.setenv("HUB_STORE", folder.store_url)
    opened = []

    def open_hub():
        opened.append(Hub.from_path(folder.path / "hub.yaml"))
        return opened[-1]

    yield open_hub
    for h in opened:
        h.close()


def test_the_drain_job_delivers_what_waits_in_the_outbox(folder):
    _config(folder, more="jobs:\n  drain: {schedule: {every: {seconds: 1}}}\n")
    assert folder.hub("run", "a").code == 0
    # Deliveries that were deferred (the destination was away) wait with no sync to carry them.
    folder.execute("update outbox set status = 'pending', delivered_at = null")
    (folder.path / "export" / "association.jsonl").unlink()
    proc = folder.popen("serve", "--port", "0")
    try:
        assert wait_for(lambda: (folder.path / "export" / "association.jsonl").exists(), timeout=30), proc.stderr.read()
        assert wait_for(lambda: any(r["delivered"] == 1 for r in _runs(folder, "job:drain")), timeout=30)
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    runs = _runs(folder, "job:drain")
    assert {r["status"] for r in runs} == {"succeeded"} and {r["trigger"] for r in runs} == {"schedule"}
    assert folder.sql("select status, count(*) from outbox group by status") == [("delivered", 1)]
    status = json.loads(folder.hub("status", "--json").out)
    assert any(s["connection"] == "job:drain" and s["schedule"] == "every 1 seconds" for s in status)


def test_the_reconcile_job_decides_and_records_its_run(folder, in_process):
    reconcile_setup(
        folder, [Line("T1", "100", ustrd=["AMAL-1001"], booked="2026-10-10")], [donation("D1", "100", "USD", "2026-10-01", ref="AMAL-1001")]
    )
    folder.write(
        "hub.yaml", (folder.path / "hub.yaml").read_text(encoding="utf-8") + "jobs:\n  reconcile: {schedule: {cron: '30 2 * * *'}}\n"
    )
    from hub.scheduling.jobs import run_job

    run = run_job(in_process(), "reconcile", trigger="schedule", scheduled_for=datetime(2026, 11, 29, 2, 30, tzinfo=UTC))
    assert run["connection"] == "job:reconcile" and run["status"] == "succeeded"
    assert (run["read"], run["valid"]) == (1, 1) and run["flags"] == ["1 matched, 0 suggested, 0 unmatched, 0 ignored"]
    assert json.loads(folder.sql("select data from records where key = 'A1|D1'")[0][0])["status"] == "received"
    listed = json.loads(folder.hub("schedule", "list", "--json").out)
    assert [(s["connection"], s["when"]) for s in listed] == [("job:reconcile", "cron 30 2 * * * (Asia/Damascus)")]


def test_retention_purges_old_bookkeeping_and_keeps_the_evidence(folder, in_process):
    _config(folder, more="jobs:\n  retention:\n    schedule: {cron: '0 4 * * 0'}\n    keep_days: {runs: 90, outbox: 7}\n")
    assert folder.hub("run", "a").code == 0
    assert folder.hub("run", "a").code == 0
    old = (datetime.now(UTC) - timedelta(days=120)).strftime("%Y-%m-%d %H:%M:%S")
    first = folder.sql("select min(id) from runs")[0][0]
    folder.execute("update runs set finished_at = ?, started_at = ? where id = ?", (old, old, first))
    folder.execute("update outbox set created_at = ?", (old,))
    from hub.scheduling.jobs import run_job

    run = run_job(in_process(), "retention")
    assert run["status"] == "succeeded"
    assert "1 runs" in run["flags"][0] and "1 outbox" in run["flags"][0]
    assert [r[0] for r in folder.sql("select id from runs where connection = 'a'")] == [first + 1]
    assert folder.sql("select count(*) from outbox") == [(0,)]
    assert folder.sql("select count(*) from records") == [(1,)], "records are never purged"
    assert folder.sql("select action from audit_log order by id desc limit 1") == [("retention.purge",)]
    assert "intact" in folder.hub("audit", "verify").out


def test_retention_never_lets_a_quarantine_number_be_given_again(folder, in_process):
    # Every quarantine entry decided long ago, all purged: SQLite numbered the next entry 1
    # again, and "quarantine/1" in the audit log came to name another record.
    _config(folder, more="jobs:\n  retention:\n    schedule: {cron: '0 4 * * 0'}\n    keep_days: {quarantine: 30}\n")
    folder.write_csv(
        "a.csv", ["id", "name_ar", "governorate", "status"], [["a1", "جمعية", "Beirut", "active"], ["a2", "جمعية", "Tyre", "active"]]
    )
    assert folder.hub("run", "a").code == 1
    assert folder.hub("quarantine", "dismiss", "1", "2", "--reason", "not in Syria").code == 0
    old = (datetime.now(UTC) - timedelta(days=60)).strftime("%Y-%m-%d %H:%M:%S")
    folder.execute("update quarantine set resolved_at = ?", (old,))
    from hub.scheduling.jobs import run_job

    assert run_job(in_process(), "retention")["status"] == "succeeded"
    assert folder.sql("select id, status from quarantine") == [(2, "dismissed")], "the newest entry is kept, whatever its age"
    folder.write_csv("a.csv", ["id", "name_ar", "governorate", "status"], [["a3", "جمعية", "Sidon", "active"]])
    assert folder.hub("run", "a").code == 1
    assert [e["id"] for e in json.loads(folder.hub("quarantine", "list", "--json").out)] == [3]


def test_schedule_reload_applies_a_new_config_and_refuses_a_bad_one(folder):
    _config(folder, schedule_a="schedule: {every: {seconds: 1}}")
    assert folder.hub("schedule", "list").code == 0
    proc = folder.popen("serve", "--port", "0")
    try:
        assert wait_for(lambda: len(_runs(folder, "a")) >= 1, timeout=30), proc.stderr.read()
        # A bad cron is refused where the admin typed the command; nothing reaches the schedulers.
        good = (folder.path / "hub.yaml").read_text(encoding="utf-8")
        folder.write("hub.yaml", good.replace("schedule: {every: {seconds: 1}}", "schedule: {cron: '61 * * * *'}"))
        bad = folder.hub("schedule", "reload")
        assert bad.code == 2 and "connections.a.schedule.cron" in bad.err
        assert proc.poll() is None
        # A good change: the export gets a schedule of its own, and the drain job appears.
        folder.write("hub.yaml", good + "jobs:\n  drain: {schedule: {every: {seconds: 1}}}\n")
        r = folder.hub("schedule", "reload")
        assert r.code == 0 and "2 schedule(s)" in r.out
        assert wait_for(lambda: len(_runs(folder, "job:drain")) >= 2, timeout=30), proc.stderr.read()
        n = len(_runs(folder, "a"))
        assert wait_for(lambda: len(_runs(folder, "a")) > n, timeout=30), "the connection's schedule kept running"
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0


def test_the_backup_job_copies_the_store_by_its_time_and_keeps_the_newest(tmp_path):
    from hub.app import Hub
    from tests.conftest import HubFolder

    # The embedded store on every leg: a PostgreSQL store is backed up with pg_dump (tests/postgres).
    folder = HubFolder(tmp_path / "hub")
    folder.path.mkdir()
    _config(folder, more="jobs:\n  backup: {schedule: {cron: '0 3 * * *'}, folder: nightly, keep: 2}\n")
    assert folder.hub("run", "a").code == 0
    nightly = folder.path / "nightly"
    nightly.mkdir()
    for name in ("hub-20261101T030000Z.db", "hub-20261102T030000Z.db", "hub-before-upgrade.db", "notes.txt"):
        (nightly / name).write_text("kept by someone", encoding="utf-8")
    from hub.scheduling.jobs import run_job

    hub = Hub.from_path(folder.path / "hub.yaml")
    try:
        run = run_job(hub, "backup", trigger="schedule")
    finally:
        hub.close()
    assert run["connection"] == "job:backup" and run["status"] == "succeeded", run
    [taken] = [p for p in nightly.glob("hub-2*.db") if p.name > "hub-20261102T030000Z.db"]
    assert run["flags"][0].startswith(f"backed up to {taken} (") and run["flags"][1] == "removed hub-20261101T030000Z.db"
    assert sorted(p.name for p in nightly.iterdir()) == sorted(
        ["hub-20261102T030000Z.db", taken.name, "hub-before-upgrade.db", "notes.txt"]
    ), "the oldest of the job's own copies went; other files stay"
    copy = sqlite3.connect(taken)
    assert copy.execute("select count(*) from records").fetchone() == (1,)
    assert copy.execute("select status from runs where connection = 'job:backup'").fetchone() == ("running",), (
        "the copy is the store as the job found it"
    )
    copy.close()
    # Restored, the job's own run (running when copied) is closed, not left running for ever.
    assert folder.hub("restore", "--yes", str(taken)).code == 0
    [job] = _runs(folder, "job:backup")
    assert job["status"] == "interrupted" and "restored from a backup" in job["error"]
