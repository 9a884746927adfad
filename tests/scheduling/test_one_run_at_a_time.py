"""One connection never runs twice at once, whoever asks: ``hub run`` beside ``hub run`` or ``hub serve``.

A gate transform (tests/gate.py) holds a run at its first record until the test lets it go,
so the second run is asked for while the first surely holds its connection.
"""

from __future__ import annotations

import json
import re
import signal
import time
from datetime import datetime
from functools import partial
from zoneinfo import ZoneInfo

import httpx

from tests.conftest import served_port, wait_for
from tests.gate import open_gate, started, write_gate

_wait_for = partial(wait_for, timeout=60)
ROWS = 50


def _setup(folder, *, lease: float = 1, schedule: str = "") -> None:
    write_gate(folder)
    folder.write(
        "hub.yaml",
        f"store: sqlite:///hub.db\nlease_seconds: {lease}\nplugins: {{folders: [gate]}}\nconnections:\n"
        "  held:\n    connector: csv\n    settings: {path: held.csv}\n"
        f"    streams:\n      s: {{entity: association, transforms: [gate]}}\n{schedule}"
        "  other:\n    connector: csv\n    settings: {path: other.csv}\n    streams:\n      s: {entity: association}\n",
    )
    header = ["id", "name_ar", "governorate", "status"]
    folder.write_csv("held.csv", header, [[f"h{i}", "جمعية الأمل", "SY01", "active"] for i in range(ROWS)])
    folder.write_csv("other.csv", header, [["o1", "جمعية البر", "SY02", "active"]])
    assert folder.hub("schedule", "list").code == 0  # the store exists before two processes race for it


def _held_run(folder):
    """``hub run held``, started and waiting at its gate (Ctrl-C reaches it as in a terminal)."""
    proc = folder.popen("run", "held", "--json", ctrl_c=True)
    assert _wait_for(lambda: started(folder).exists() or proc.poll() is not None)
    assert proc.poll() is None, proc.stderr.read()
    return proc


def _runs(folder) -> list[dict]:
    return sorted(json.loads(folder.hub("runs", "--limit", "100", "--json").out), key=lambda r: r["id"])


def test_a_second_run_is_refused_while_the_first_holds_the_connection(folder):
    _setup(folder, lease=1)
    first = _held_run(folder)
    try:
        # Longer than the lease: the first run's heartbeat keeps renewing it while it waits.
        time.sleep(2.5)
        second = folder.hub("run", "held", timeout=60)
        assert second.code == 75, second.err
        assert "held is running already: run 1 (manual, by " in second.err
        assert "wait for it to finish (hub runs show 1)" in second.err
        assert "Traceback" not in second.err
        # An admin sees what runs, and since when, in the hub's zone.
        [held] = [c for c in json.loads(folder.hub("status", "--json").out) if c["connection"] == "held"]
        assert held["running"] == [1]
        started = datetime.fromisoformat(_runs(folder)[0]["started_at"]).astimezone(ZoneInfo("Asia/Damascus"))
        assert f"1 since {started:%Y-%m-%d %H:%M} +03" in folder.hub("status", env={"COLUMNS": "250"}).out
        # Other connections are not held up, nor is a list of connections beside the busy one.
        both = folder.hub("run", "other", "held", "--json", timeout=60)
        assert both.code == 75, both.err
        assert [r["connection"] for r in json.loads(both.out)["runs"]] == ["other"]
        assert "held failed: held is running already" in both.err
        open_gate(folder)
        assert first.wait(timeout=120) == 0, first.stderr.read()
    finally:
        if first.poll() is None:
            first.kill()
    again = folder.hub("run", "held", "--json")
    assert again.code == 0, again.err
    assert json.loads(again.out)["runs"][0]["unchanged"] == ROWS
    runs = [r for r in _runs(folder) if r["connection"] == "held"]
    assert [r["status"] for r in runs] == ["succeeded", "succeeded"], runs
    assert runs[0]["inserted"] == ROWS and runs[0]["worker"].endswith(f":{first.pid}")
    assert folder.sql("select count(*) from records where entity = 'association'") == [(ROWS + 1,)]


def test_a_stalled_run_whose_process_lives_still_holds_the_connection(folder):
    _setup(folder, lease=1)
    first = _held_run(folder)
    try:
        first.send_signal(signal.SIGSTOP)  # alive, and silent: no heartbeat for longer than the lease
        time.sleep(2.5)
        refused = folder.hub("run", "held", timeout=60)
        assert refused.code == 75, refused.err
        first.send_signal(signal.SIGCONT)
        open_gate(folder)
        assert first.wait(timeout=120) == 0, first.stderr.read()
    finally:
        if first.poll() is None:
            first.send_signal(signal.SIGCONT)
            first.kill()
    assert [r["status"] for r in _runs(folder)] == ["succeeded"]


def test_ctrl_c_ends_the_run_as_interrupted_and_frees_the_connection_at_once(folder):
    _setup(folder, lease=60)
    first = _held_run(folder)
    # Held at its gate, the run cannot finish the batch it is on: a second Ctrl-C stops it at once.
    first.send_signal(signal.SIGINT)
    assert _wait_for(lambda: "Ctrl-C again to stop at once" in first.stderr.read()), first.stderr.read()
    assert first.poll() is None, "the first Ctrl-C waits for the batch"
    first.send_signal(signal.SIGINT)
    assert first.wait(timeout=60) == 130
    assert "stopped by hand (Ctrl-C) twice: stopped at once" in first.stderr.read()
    assert "Traceback" not in first.stderr.read()
    run = _runs(folder)[0]
    assert run["status"] == "interrupted" and run["error"].startswith("stopped by hand"), run
    open_gate(folder)
    again = folder.hub("run", "held", "--json")
    assert again.code == 0, again.err  # not held up for a lease of 60 s
    assert folder.sql("select count(*) from records") == [(ROWS,)]


def test_a_run_killed_on_another_machine_holds_the_connection_until_its_lease_lapses(folder):
    _setup(folder, lease=6)
    first = _held_run(folder)
    # As if it ran on another machine of a shared PostgreSQL store: its process cannot be looked at.
    folder.execute("update runs set worker = 'elsewhere:4242' where id = 1")
    first.send_signal(signal.SIGKILL)
    first.wait()
    open_gate(folder)
    refused = folder.hub("run", "held", timeout=60)
    assert refused.code == 75 and "by elsewhere:4242" in refused.err, refused.err
    assert "and 6 s after it was last heard from on another (lease_seconds in hub.yaml)" in refused.err
    assert _wait_for(lambda: folder.hub("run", "held").code == 0), "free once the lease lapsed"
    runs = _runs(folder)
    assert runs[0]["status"] == "interrupted" and "stopped without a word" in runs[0]["error"], runs[0]
    assert runs[-1]["status"] == "succeeded"
    assert folder.sql("select count(*) from records") == [(ROWS,)]


def test_serve_skips_a_slot_while_hub_run_holds_the_connection(folder):
    _setup(folder, lease=2, schedule="    schedule: {every: {seconds: 1}}\n")
    first = _held_run(folder)
    server = folder.popen("serve", "--port", "0")
    try:
        assert _wait_for(lambda: "skipped: held is running already: run 1" in server.stderr.read()), server.stderr.read()
        # Kept where admins look, not only in the log: one row for the slots this run kept busy.
        assert _wait_for(lambda: any(r["status"] == "skipped" and r["attempts"] >= 3 for r in _runs(folder)))
        runs = _runs(folder)
        assert [(r["id"], r["status"]) for r in runs] == [(1, "running"), (2, "skipped")], "no scheduled run started beside the held one"
        skipped = runs[1]
        assert skipped["trigger"] == "schedule" and skipped["read"] == 0
        assert skipped["flags"] == [f"{skipped['attempts']} slots skipped: run 1 was still running"], skipped
        assert skipped["scheduled_for"] > skipped["started_at"], "the row's slot is the last one skipped"
        assert [r["id"] for r in json.loads(folder.hub("runs", "--status", "skipped", "--json").out)] == [2]
        assert "seconds" not in skipped, "a skipped slot took no time"
        shown = " ".join(re.sub("[│┃]", " ", folder.hub("status").out).split())  # the table's cells, unwrapped
        assert re.search(r"running \S+ \S+ \+03; \d+ slots skipped since \S+ \S+ \+03", shown), shown
        [row] = [r for r in json.loads(folder.hub("status", "--json").out) if r["connection"] == "held"]
        assert row["last_run"]["id"] == 1 and row["skipped"]["id"] == 2, "the last run is the one that ran; the skipped slots beside it"

        port = served_port(server)

        def slots() -> int:
            found = re.search(r'wasl_skipped_slots\{connection="held"\} (\d+)\.0', httpx.get(f"http://127.0.0.1:{port}/metrics").text)
            return int(found[1]) if found else 0

        assert _wait_for(lambda: slots() >= skipped["attempts"] >= 3), "every slot counted, not the one row"
        open_gate(folder)
        assert first.wait(timeout=120) == 0
        assert _wait_for(lambda: sum(r["trigger"] == "schedule" and r["status"] == "succeeded" for r in _runs(folder)) >= 2)
    finally:
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=60) == 0
        if first.poll() is None:
            first.kill()
    ran = [r for r in _runs(folder) if r["status"] != "skipped"]
    spans = sorted((datetime.fromisoformat(r["started_at"]), datetime.fromisoformat(r["finished_at"] or r["started_at"])) for r in ran)
    assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:])), f"held ran twice at once: {spans}"


def test_serve_marks_a_run_killed_on_this_machine_interrupted(folder):
    _setup(folder, lease=60)
    first = _held_run(folder)
    first.send_signal(signal.SIGKILL)
    first.wait()
    # Read from the store itself: `hub runs` and `hub status` would mark it as they show it.
    assert folder.sql("select status from runs") == [("running",)]
    server = folder.popen("serve", "--port", "0")
    try:
        # Not a lease of 60 s: its process is gone, and the reaper sees that at once.
        assert _wait_for(lambda: folder.sql("select status from runs") == [("interrupted",)], timeout=30), server.stderr.read()
    finally:
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=60) == 0
    assert "run 1: its process stopped without a word (killed?); marked interrupted" in server.stderr.read()
    held = next(c for c in json.loads(folder.hub("status", "--json").out) if c["connection"] == "held")
    assert held["running"] == [] and held["last_run"]["status"] == "interrupted", held


def test_status_and_runs_do_not_show_a_killed_run_as_running(folder):
    # Without hub serve to notice, `hub status` said "running" until the connection next ran.
    _setup(folder, lease=60)
    first = _held_run(folder)
    first.send_signal(signal.SIGKILL)
    first.wait()
    held = next(c for c in json.loads(folder.hub("status", "--json").out) if c["connection"] == "held")
    assert held["running"] == [] and held["last_run"]["status"] == "interrupted", held
    [run] = _runs(folder)
    assert run["status"] == "interrupted" and "stopped without a word" in run["error"]


def test_a_run_taken_as_stopped_while_it_stalled_stops_after_its_batch(folder):
    # Another process judged the run stopped (as it would one silent for a whole lease on
    # another machine) and may have started its own: the stalled run must not go on beside it.
    _setup(folder, lease=1)
    first = _held_run(folder)
    folder.execute("update runs set status = 'interrupted' where id = 1")
    time.sleep(1.5)  # the next heartbeat finds the run is no longer this process's
    open_gate(folder)
    assert first.wait(timeout=120) == 75, first.stderr.read()
    [run] = _runs(folder)
    assert run["status"] == "interrupted" and run["error"].startswith("this process went silent for longer than its lease"), run
    assert "no longer held by this process" in first.stderr.read()


def test_hub_run_wait_runs_once_the_running_one_has_finished(folder):
    _setup(folder, lease=1)
    first = _held_run(folder)
    waiting = None
    try:
        # Not long enough: the same refusal as without --wait, after waiting.
        short = folder.hub("run", "held", "--wait", "1", timeout=60)
        assert short.code == 75 and "waiting up to 1 s" in short.err and "held is running already" in short.err, short.err
        waiting = folder.popen("run", "held", "--wait", "120", "--json")
        assert _wait_for(lambda: "waiting up to 120 s for it to finish" in waiting.stderr.read())
        open_gate(folder)
        assert first.wait(timeout=120) == 0
        assert waiting.wait(timeout=120) == 0, waiting.stderr.read()
    finally:
        for proc in (first, waiting):
            if proc is not None and proc.poll() is None:
                proc.kill()
    first_run, second_run = _runs(folder)
    assert datetime.fromisoformat(first_run["finished_at"]) <= datetime.fromisoformat(second_run["started_at"])
    assert (first_run["inserted"], second_run["unchanged"]) == (ROWS, ROWS)


def test_a_worker_that_waited_for_the_write_lock_starts_its_run_after_the_one_it_waited_for(folder):
    # A worker that asks while the holder is finishing waits for the store's write lock; the
    # run it then claims must not be stamped with the moment it began to wait, or `hub runs`
    # shows the two runs overlapping although they never did.
    import threading

    from sqlalchemy import update

    from hub.processes import holder_id
    from hub.store import runs as run_store
    from hub.store.db import Store
    from hub.store.models import runs_table
    from hub.store.types import utcnow

    store = Store.open(folder.store_url or f"sqlite:///{folder.path / 'hub.db'}")
    try:
        with store.writing("runs:held") as conn:
            holder = run_store.start_run(conn, "held", trigger="manual", scheduled_for=None, worker=holder_id(), lease_seconds=60)
        queued = run_store.queue_run(store.engine, "held", trigger="queue")
        finishing = threading.Event()

        def finish_while_holding_the_lock():
            with store.writing("runs:held") as conn:
                finishing.set()
                time.sleep(0.5)
                conn.execute(update(runs_table).where(runs_table.c.id == holder).values(status="succeeded", finished_at=utcnow()))

        t = threading.Thread(target=finish_while_holding_the_lock)
        t.start()
        assert finishing.wait(10)
        assert run_store.claim_run(store, queued, "worker-1", 60) == "held"
        t.join()
        first, second = run_store.get_run(store.engine, holder), run_store.get_run(store.engine, queued)
    finally:
        store.close()
    assert datetime.fromisoformat(first["finished_at"]) <= datetime.fromisoformat(second["started_at"]), "never both at once"
