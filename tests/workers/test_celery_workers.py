"""Runs on Celery workers over a real Redis: spread over workers, once each, and finished after a worker is SIGKILLed."""

from __future__ import annotations

import json
import signal
import time
from datetime import datetime
from functools import partial

from tests.conftest import DONATION_HEADER, DONATIONS_CONFIG, donation_rows, wait_for
from tests.gate import open_gate, started, write_gate
from tests.workers.conftest import listening_workers

_wait_for = partial(wait_for, timeout=60)


def _runs(folder):
    return json.loads(folder.hub("runs", "--limit", "200", "--json").out)


def test_two_workers_twenty_runs_each_once_spread_over_both(folder, redis_url):
    # Each run takes a moment (a slow transform), so that both workers surely get work.
    folder.write(
        "slow/slow.py",
        "import time\nfrom hub import hookimpl\n\ndef slow(record, context):\n    if record['id'].endswith('-0'):\n        time.sleep(0.3)\n    return record\n\n"
        "@hookimpl\ndef hub_register_transforms(registry):\n    registry.add('slow', slow)\n",
    )
    conns = "".join(
        f"  c{i}:\n    connector: csv\n    settings: {{path: a{i}.csv}}\n    streams:\n      s: {{entity: association, transforms: [slow]}}\n"
        for i in range(4)
    )
    folder.write(
        "hub.yaml",
        f"store: sqlite:///hub.db\nplugins: {{folders: [slow]}}\ncelery: {{broker: '{redis_url}', lease_seconds: 5}}\nconnections:\n{conns}",
    )
    for i in range(4):
        folder.write_csv(
            f"a{i}.csv", ["id", "name_ar", "governorate", "status"], [[f"a{i}-{j}", "جمعية", "SY01", "active"] for j in range(300)]
        )
    # One of them logs for a collector: JSON lines on stderr, and no banner around them.
    workers = [folder.popen("worker"), folder.popen("--log-format", "json", "worker")]
    try:
        assert _wait_for(lambda: listening_workers(redis_url) == 2), "both workers wait on the queue"
        for _ in range(5):
            assert folder.hub("enqueue", "c0", "c1", "c2", "c3").code == 0
        assert _wait_for(lambda: sum(r["status"] == "succeeded" for r in _runs(folder)) == 20), _runs(folder)
    finally:
        for w in workers:
            w.send_signal(signal.SIGTERM)
        for w in workers:
            w.wait(timeout=30)
    assert "wasl_hub" not in workers[1].stdout.read() and "wasl_hub" in workers[0].stdout.read(), "the banner only without JSON"
    assert all(json.loads(line)["time"] for line in workers[1].stderr.read().splitlines())
    runs = _runs(folder)
    assert len(runs) == 20 and all(r["attempts"] == 1 for r in runs), "each run executed once"
    assert len({r["worker"] for r in runs}) == 2, "spread over both workers"
    for c in ("c0", "c1", "c2", "c3"):
        spans = sorted(
            (datetime.fromisoformat(r["started_at"]), datetime.fromisoformat(r["finished_at"])) for r in runs if r["connection"] == c
        )
        assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:])), f"{c} ran twice at once"
    assert folder.sql("select count(*) from records") == [(1200,)]


def test_a_worker_killed_mid_run_the_run_completes_elsewhere_with_exact_counts(folder, redis_url):
    n = 60_000
    # A transform that takes its time, so that the worker is surely killed mid-run.
    folder.write(
        "slow/slow.py",
        "import time\nfrom hub import hookimpl\n\ndef slow(record, context):\n    if record['id'].endswith('00'):\n        time.sleep(0.01)\n    return record\n\n"
        "@hookimpl\ndef hub_register_transforms(registry):\n    registry.add('slow', slow)\n",
    )
    cfg = (
        DONATIONS_CONFIG.format(batch_size=2000)
        .replace("    destinations: [export]\n", "")
        .replace("        entity: donation\n", "        entity: donation\n        transforms: [slow]\n")
    )
    folder.write(
        "hub.yaml",
        cfg.replace(
            "store: sqlite:///hub.db\n",
            f"store: sqlite:///hub.db\nplugins: {{folders: [slow]}}\ncelery: {{broker: '{redis_url}', lease_seconds: 3}}\n",
        ),
    )
    folder.write_csv("donations.csv", DONATION_HEADER, donation_rows(n))
    first = folder.popen("worker")
    second = reaper = None
    try:
        assert _wait_for(lambda: listening_workers(redis_url) == 1), "the worker waits on the queue"
        assert folder.hub("enqueue", "amal").code == 0
        assert _wait_for(lambda: folder.sql("select count(*) from records")[0][0] > n // 5 if folder.store_exists() else False)
        first.send_signal(signal.SIGKILL)
        first.wait()
        stored_at_kill = folder.sql("select count(*) from records")[0][0]
        assert stored_at_kill < n
        second = folder.popen("worker")
        reaper = folder.popen("serve", "--executor", "celery", "--port", "0")
        assert _wait_for(lambda: _runs(folder)[0]["status"] == "succeeded", timeout=120), _runs(folder)
    finally:
        for p in (second, reaper):
            if p is not None:
                p.send_signal(signal.SIGTERM)
                p.wait(timeout=30)
    [run] = _runs(folder)
    assert (run["read"], run["inserted"], run["attempts"]) == (n, n, 2), "counts of the committed batches of both attempts: exact"
    assert folder.sql("select count(*), count(distinct key) from records") == [(n, n)]
    assert "lost its worker" in reaper.stderr.read()


def test_a_worker_waits_while_hub_run_holds_the_connection(folder, redis_url):
    # An admin's `hub run` and a queued run of the same connection: the worker takes the queued
    # run only once the admin's has finished, never beside it.
    write_gate(folder)
    folder.write(
        "hub.yaml",
        f"store: sqlite:///hub.db\nplugins: {{folders: [gate]}}\ncelery: {{broker: '{redis_url}', lease_seconds: 2}}\n"
        "connections:\n  held:\n    connector: csv\n    settings: {path: held.csv}\n"
        "    streams:\n      s: {entity: association, transforms: [gate]}\n",
    )
    folder.write_csv("held.csv", ["id", "name_ar", "governorate", "status"], [[f"h{i}", "جمعية", "SY01", "active"] for i in range(20)])
    assert folder.hub("schedule", "list").code == 0  # the store exists before the processes race for it
    by_hand = folder.popen("run", "held")
    worker = folder.popen("worker")
    try:
        assert _wait_for(lambda: started(folder).exists())
        assert _wait_for(lambda: listening_workers(redis_url) == 1), "the worker waits on the queue"
        assert folder.hub("enqueue", "held").code == 0
        time.sleep(5)  # longer than the lease: the hand run's heartbeat keeps it
        assert [r["status"] for r in sorted(_runs(folder), key=lambda r: r["id"])] == ["running", "queued"]
        open_gate(folder)
        assert by_hand.wait(timeout=120) == 0
        assert _wait_for(lambda: [r["status"] for r in _runs(folder)] == ["succeeded", "succeeded"]), _runs(folder)
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=30)
        if by_hand.poll() is None:
            by_hand.kill()
    first, second = sorted(_runs(folder), key=lambda r: r["id"])
    assert datetime.fromisoformat(first["finished_at"]) <= datetime.fromisoformat(second["started_at"]), "never both at once"
    assert (first["attempts"], second["attempts"]) == (0, 1)


def test_a_hub_run_killed_mid_way_does_not_keep_workers_from_its_connection(folder, redis_url):
    # It stayed "running" for good, and every queued run of its connection waited behind it.
    write_gate(folder)
    folder.write(
        "hub.yaml",
        f"store: sqlite:///hub.db\nplugins: {{folders: [gate]}}\ncelery: {{broker: '{redis_url}', lease_seconds: 60}}\n"
        "connections:\n  held:\n    connector: csv\n    settings: {path: held.csv}\n"
        "    streams:\n      s: {entity: association, transforms: [gate]}\n",
    )
    folder.write_csv("held.csv", ["id", "name_ar", "governorate", "status"], [[f"h{i}", "جمعية", "SY01", "active"] for i in range(20)])
    assert folder.hub("schedule", "list").code == 0
    by_hand = folder.popen("run", "held")
    assert _wait_for(lambda: started(folder).exists())
    by_hand.send_signal(signal.SIGKILL)
    by_hand.wait()
    open_gate(folder)
    worker = folder.popen("worker")
    try:
        assert folder.hub("enqueue", "held").code == 0
        # Not a lease of 60 s: the killed run's process is gone from this machine.
        assert _wait_for(lambda: [r["status"] for r in _runs(folder)] == ["succeeded", "interrupted"], timeout=40), _runs(folder)
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=30)
    assert folder.sql("select count(*) from records") == [(20,)]


def test_a_run_handed_over_while_the_store_is_away_runs_once_it_is_back(folder, redis_url, pg_url, pg_server):
    # A PostgreSQL failover while the broker hands a worker a run: the worker took the message,
    # failed to claim the run, and the run stayed queued with no message left to run it.
    from sqlalchemy import text

    from hub.scheduling.workers import TASK, celery_app
    from hub.store import runs as run_store
    from hub.store.db import Store
    from tests.pg_server import DatabaseAway

    env = {"HUB_STORE": pg_url}
    folder.write(
        "hub.yaml",
        f"store: sqlite:///hub.db\ncelery: {{broker: '{redis_url}', lease_seconds: 5}}\n"
        "connections:\n  c:\n    connector: csv\n    settings: {path: a.csv}\n    streams:\n      s: {entity: association}\n",
    )
    folder.write_csv("a.csv", ["id", "name_ar", "governorate", "status"], [[f"a{i}", "جمعية", "SY01", "active"] for i in range(5)])
    store = Store.open(pg_url)
    run_id = run_store.queue_run(store.engine, "c", trigger="manual")  # queued; its message is sent below
    store.close()
    worker = folder.popen("worker", env=env)
    try:
        with DatabaseAway(pg_server, pg_url) as away:
            assert _wait_for(lambda: listening_workers(redis_url) == 1), "the worker waits on the queue"
            away.go()
            celery_app(redis_url).send_task(TASK, args=[str(folder.path / "hub.yaml"), run_id])
            assert _wait_for(lambda: f"run {run_id}: store unavailable, asked for again" in worker.stderr.read()), worker.stderr.read()
            away.back()
            assert _wait_for(
                lambda: [(r["id"], r["status"]) for r in json.loads(folder.hub("runs", "--json", env=env).out)] == [(run_id, "succeeded")]
            )
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=30)
    assert "Traceback" not in worker.stderr.read()
    store = Store.open(pg_url)
    with store.engine.connect() as conn:
        assert conn.execute(text("select count(*) from records")).scalar() == 5
    store.close()
