"""Ctrl-C or SIGTERM in ``hub run``: the first stops after the batch being written, the second at once.

Either way nothing is lost or stored twice, the run reads "interrupted" at once (not "running"
for a lease's length), and the next run resumes after the last committed batch. The signals
are real SIGINTs and SIGTERMs the ``hub run`` process sends from a plugin, at a chosen moment:
just as the records of the third batch have gone to the store, inside its transaction, which
is where a person's Ctrl-C most often lands in a large sync. SIGTERM goes to every process of
the run, its forked reader too, as systemd and ``timeout`` send it.
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import DONATION_HEADER, DONATIONS_CONFIG, donation_rows

ROWS, BATCH = 5_000, 1_000

# A plugin folder's module: imported by the hub at start, it presses Ctrl-C (or sends SIGTERM
# to the process and its children) CTRL_C_PRESSES times, once, after the first statement that
# starts with one of CTRL_C_ON's |-separated beginnings and carries CTRL_C_AT; it writes down
# how many processes it signalled. New records go into PostgreSQL by COPY, into SQLite by INSERT.
PRESS_CTRL_C = """
import glob
import os
import signal

from sqlalchemy import event
from sqlalchemy.engine import Engine

ON, AT, PRESSES = tuple(os.environ["CTRL_C_ON"].split("|")), os.environ["CTRL_C_AT"], int(os.environ["CTRL_C_PRESSES"])
SIGNAL = getattr(signal, os.environ.get("CTRL_C_SIGNAL", "SIGINT"))
pressed = False


def everyone():
    \"\"\"This process and its children, as a service manager signals a service's processes.\"\"\"
    pids = [os.getpid()]
    if SIGNAL == signal.SIGTERM:
        for children in glob.glob("/proc/self/task/*/children"):
            try:
                with open(children) as f:
                    pids += [int(p) for p in f.read().split()]
            except FileNotFoundError:
                pass  # a thread that ended since the listing: it has no children left to signal
    return pids


@event.listens_for(Engine, "after_cursor_execute")
def press(conn, cursor, statement, parameters, context, executemany):
    global pressed
    if pressed or not statement.startswith(ON):
        return
    rows = parameters if executemany else [parameters]
    if any(AT in (row.values() if isinstance(row, dict) else row) for row in rows):
        pressed = True
        pids = everyone()
        with open("signalled.txt", "w") as f:
            f.write(str(len(pids)))
        for _ in range(PRESSES):
            for pid in pids:
                os.kill(pid, SIGNAL)
"""


@pytest.fixture
def large(folder):
    config = DONATIONS_CONFIG.format(batch_size=BATCH).replace("    destinations: [export]\n", "")
    folder.write("hub.yaml", config + "plugins: {folders: [plugins]}\n")
    folder.write_csv("donations.csv", DONATION_HEADER, donation_rows(ROWS))
    folder.write("plugins/press_ctrl_c.py", PRESS_CTRL_C)
    return folder


def _pressing(
    presses: int, on: str = "INSERT INTO records |COPY records ", at: str = "assoc-amal|D0002500", signal: str = "SIGINT"
) -> dict:
    """Ctrl-C pressed ``presses`` times (or ``signal`` sent); by default as a record of the third batch is stored."""
    return {"CTRL_C_ON": on, "CTRL_C_AT": at, "CTRL_C_PRESSES": str(presses), "CTRL_C_SIGNAL": signal}


def _resumes_and_completes(folder, stored: int, rows: int = ROWS) -> None:
    r = folder.hub("run", "amal", "--json", env=_pressing(0))
    assert r.code == 0, r.err
    run = json.loads(r.out)["runs"][0]
    assert (run["read"], run["inserted"]) == (rows - stored, rows - stored), "the next run resumed after the last committed batch"
    assert folder.sql("select count(*), count(distinct key), max(version) from records") == [(rows, rows, 1)]
    assert [s for (s,) in folder.sql("select status from runs order by id")] == ["interrupted", "succeeded"]


def test_the_first_ctrl_c_stops_after_the_batch_being_written(large):
    r = large.hub("run", "amal", env=_pressing(1))

    assert r.code == 130, r.err
    assert "stopping after the batch being written; Ctrl-C again to stop at once" in r.err
    assert "stopped by hand (Ctrl-C): the next run resumes after the last committed batch" in r.err
    assert "Traceback" not in r.err and "internal error" not in r.err
    assert large.sql("select count(*) from records") == [(3 * BATCH,)], "the batch being written when Ctrl-C came was finished"
    [(status, error, read)] = large.sql("select status, error, read from runs")
    assert (status, read) == ("interrupted", 3 * BATCH)
    assert error.startswith("stopped by hand (Ctrl-C)")
    _resumes_and_completes(large, 3 * BATCH)


def test_a_second_ctrl_c_stops_at_once_and_the_run_is_closed_not_left_holding_the_store(large):
    # The second press interrupts the third batch's transaction as its records are written.
    # The run must still be recorded as stopped: before, the process's own cut-short statement
    # held SQLite's write lock, so recording it waited 30 s and ended in an internal error.
    r = large.hub("run", "amal", env=_pressing(2), timeout=120)

    assert r.code == 130, r.err
    assert "stopped by hand (Ctrl-C) twice: stopped at once, the batch being written was not kept" in r.err
    assert "internal error" not in r.err and "Traceback" not in r.err
    assert large.sql("select count(*) from records") == [(2 * BATCH,)], "the interrupted batch was rolled back whole"
    [(status, error)] = large.sql("select status, error from runs")
    assert status == "interrupted"
    assert error.startswith("stopped by hand")
    cursor = json.loads(large.sql("select cursor from stream_state")[0][0])
    assert cursor["rows"] == 2 * BATCH, "the cursor stayed with the last committed batch"
    _resumes_and_completes(large, 2 * BATCH)


def test_ctrl_c_while_delivering_stops_sending_and_the_rest_waits_in_the_outbox(folder):
    folder.write("hub.yaml", DONATIONS_CONFIG.format(batch_size=BATCH) + "plugins: {folders: [plugins]}\n")
    folder.write_csv("donations.csv", DONATION_HEADER, donation_rows(ROWS))
    folder.write("plugins/press_ctrl_c.py", PRESS_CTRL_C)

    # Pressed as the export's first batch is marked delivered.
    r = folder.hub("run", "amal", env=_pressing(1, on="UPDATE outbox ", at="delivered"))

    assert r.code == 130, r.err
    assert "stopped by hand (Ctrl-C): the next run resumes" in r.err
    [(status, read, delivered)] = folder.sql("select status, read, delivered from runs")
    assert (status, read) == ("interrupted", ROWS), "every batch was read and stored before the delivery began"
    assert 0 < delivered < ROWS, "the delivery stopped after the batch it was marking"
    assert folder.sql("select status, count(*) from outbox group by status order by status") == [
        ("delivered", delivered),
        ("pending", ROWS - delivered),
    ]
    exported = sum(len(p.read_text(encoding="utf-8").splitlines()) for p in (folder.path / "export").rglob("*.jsonl"))
    assert exported == delivered

    r = folder.hub("run", "amal", "--json", env=_pressing(0))
    assert r.code == 0, r.err
    assert json.loads(r.out)["runs"][0]["delivered"] == ROWS - delivered, "the next run sent what waited"
    assert folder.sql("select status, count(*) from outbox group by status") == [("delivered", ROWS)]


def test_sigterm_to_the_run_and_its_reader_stops_after_the_batch_being_written(large):
    # systemd stopping a service, `timeout`, a container runtime: SIGTERM to every process,
    # then a wait before SIGKILL. Before, the run died at once and its reader with it. The file
    # is long enough that the reader is still reading (or waiting to hand on) when it comes.
    rows = 40 * BATCH
    large.write_csv("donations.csv", DONATION_HEADER, donation_rows(rows))
    r = large.hub("run", "amal", env=_pressing(1, signal="SIGTERM"))

    assert r.code == 143, r.err
    assert int((large.path / "signalled.txt").read_text()) >= 2, "the forked reader was signalled too"
    assert "stopping after the batch being written; a second SIGTERM stops at once" in r.err
    assert "stopped by SIGTERM" in r.err and "the next run resumes after the last committed batch" in r.err
    assert "Traceback" not in r.err and "internal error" not in r.err and "reader process" not in r.err
    assert large.sql("select count(*) from records") == [(3 * BATCH,)]
    [(status, error, read)] = large.sql("select status, error, read from runs")
    assert (status, read) == ("interrupted", 3 * BATCH)
    assert error.startswith("stopped by SIGTERM")
    _resumes_and_completes(large, 3 * BATCH, rows)


def test_a_second_sigterm_stops_at_once_and_the_run_says_so(large):
    r = large.hub("run", "amal", env=_pressing(2, signal="SIGTERM"), timeout=120)

    assert r.code == 143, r.err
    assert "stopped by SIGTERM (a service manager, `timeout` or `kill` asked it to stop) twice: stopped at once" in r.err
    assert large.sql("select count(*) from records") == [(2 * BATCH,)], "the interrupted batch was rolled back whole"
    [(status, error)] = large.sql("select status, error from runs")
    assert status == "interrupted" and error.startswith("stopped by SIGTERM"), error
    _resumes_and_completes(large, 2 * BATCH)


# A transform, run by the forked reader as it prepares records: at record TERM_AT it waits
# until the run's process has stored every batch before it (so that process is then waiting
# for the reader), sends SIGTERM to both, as a service manager does, and goes on a second later.
TERM_FROM_THE_READER = """
import os
import signal
import time

from sqlalchemy import create_engine, text

from hub import hookimpl

RUN = os.getpid()  # imported by the run's process, before the reader is forked
sent = []


def term_at(record, context):
    if record["id"] == os.environ["TERM_AT"] and not sent:
        sent.append(True)
        engine = create_engine(os.environ.get("HUB_STORE") or "sqlite:///hub.db")
        deadline = time.monotonic() + 60
        with engine.connect() as conn:
            while conn.execute(text("select count(*) from records")).scalar() < int(os.environ["TERM_AFTER"]):
                assert time.monotonic() < deadline, "the batches before never came"
                conn.rollback()
                time.sleep(0.02)
        engine.dispose()
        for pid in {RUN, os.getpid()}:
            os.kill(pid, signal.SIGTERM)
        time.sleep(1)
    return record


@hookimpl
def hub_register_transforms(registry):
    registry.add("term_at", term_at)
"""


def test_sigterm_while_the_run_waits_for_its_reader_stops_after_that_batch_not_with_a_dead_reader(folder):
    config = (
        DONATIONS_CONFIG.format(batch_size=BATCH)
        .replace("    destinations: [export]\n", "")
        .replace("        entity: donation\n", "        entity: donation\n        transforms: [term_at]\n")
    )
    folder.write("hub.yaml", config + "plugins: {folders: [plugins]}\n")
    folder.write_csv("donations.csv", DONATION_HEADER, donation_rows(ROWS))
    folder.write("plugins/term_at.py", TERM_FROM_THE_READER)

    r = folder.hub("run", "amal", env={"TERM_AT": "D0002500", "TERM_AFTER": str(2 * BATCH)})

    assert r.code == 143, r.err
    assert "reader process" not in r.err and "Traceback" not in r.err
    assert r.err.count("stopping after the batch being written") == 1, "said once, by the run, not again by its reader"
    assert folder.sql("select count(*) from records") == [(3 * BATCH,)], "the batch the reader was preparing was stored"
    [(status, error)] = folder.sql("select status, error from runs")
    assert status == "interrupted" and error.startswith("stopped by SIGTERM"), error
