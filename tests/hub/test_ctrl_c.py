"""Ctrl-C in ``hub run``: the first press stops after the batch being written, the second at once.

Either way nothing is lost or stored twice, the run reads "interrupted" at once (not "running"
for a lease's length), and the next run resumes after the last committed batch. The presses
are real SIGINTs the ``hub run`` process sends itself from a plugin, at a chosen moment: just
as the records of the third batch have gone to the store, inside its transaction, which is
where a person's Ctrl-C most often lands in a large sync.
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import DONATION_HEADER, DONATIONS_CONFIG, donation_rows

ROWS, BATCH = 5_000, 1_000

# A plugin folder's module: imported by the hub at start, it presses Ctrl-C CTRL_C_PRESSES
# times, once, after the first statement that starts with CTRL_C_ON and carries CTRL_C_AT.
PRESS_CTRL_C = """
import os
import signal

from sqlalchemy import event
from sqlalchemy.engine import Engine

ON, AT, PRESSES = os.environ["CTRL_C_ON"], os.environ["CTRL_C_AT"], int(os.environ["CTRL_C_PRESSES"])
pressed = False


@event.listens_for(Engine, "after_cursor_execute")
def press(conn, cursor, statement, parameters, context, executemany):
    global pressed
    if pressed or not statement.startswith(ON):
        return
    rows = parameters if executemany else [parameters]
    if any(AT in (row.values() if isinstance(row, dict) else row) for row in rows):
        pressed = True
        for _ in range(PRESSES):
            os.kill(os.getpid(), signal.SIGINT)
"""


@pytest.fixture
def large(folder):
    config = DONATIONS_CONFIG.format(batch_size=BATCH).replace("    destinations: [export]\n", "")
    folder.write("hub.yaml", config + "plugins: {folders: [plugins]}\n")
    folder.write_csv("donations.csv", DONATION_HEADER, donation_rows(ROWS))
    folder.write("plugins/press_ctrl_c.py", PRESS_CTRL_C)
    return folder


def _pressing(presses: int, on: str = "INSERT INTO records ", at: str = "assoc-amal|D0002500") -> dict:
    """Ctrl-C pressed ``presses`` times; by default as a record of the third batch is stored."""
    return {"CTRL_C_ON": on, "CTRL_C_AT": at, "CTRL_C_PRESSES": str(presses)}


def _resumes_and_completes(folder, stored: int) -> None:
    r = folder.hub("run", "amal", "--json", env=_pressing(0))
    assert r.code == 0, r.err
    run = json.loads(r.out)["runs"][0]
    assert (run["read"], run["inserted"]) == (ROWS - stored, ROWS - stored), "the next run resumed after the last committed batch"
    assert folder.sql("select count(*), count(distinct key), max(version) from records") == [(ROWS, ROWS, 1)]
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
