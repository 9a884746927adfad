"""A run killed with SIGKILL halfway loses nothing and stores nothing twice."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

from tests.conftest import DONATION_HEADER, DONATIONS_CONFIG, donation_rows

ROWS = 60_000  # 30 batches: time enough to be killed in the middle of


def _children(pid: int) -> list[int]:
    """Pids whose parent is ``pid`` (the forked reader, when the machine has a second core)."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def test_sigkill_halfway_then_rerun_stores_each_row_once(folder):
    folder.write("hub.yaml", DONATIONS_CONFIG.format(batch_size=2000).replace("    destinations: [export]\n", ""))
    folder.write_csv("donations.csv", DONATION_HEADER, donation_rows(ROWS))
    proc = folder.popen("run", "amal")
    deadline = time.monotonic() + 240

    def count() -> int:
        try:
            return folder.sql("select count(*) from records")[0][0]
        except Exception:  # noqa: BLE001 - the store is not created yet
            return 0

    while count() < ROWS // 4:
        assert proc.poll() is None, f"the run ended before it could be killed: {proc.stderr.read()}"
        assert time.monotonic() < deadline, "the run made no progress"
        time.sleep(0.05)
    readers = _children(proc.pid)
    assert readers or (os.cpu_count() or 1) == 1, "a reader process runs beside the committing one"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 30
    while any(Path(f"/proc/{pid}").exists() and not _zombie(pid) for pid in readers):
        assert time.monotonic() < deadline, "the reader process outlived its killed parent"
        time.sleep(0.05)
    stored_at_kill = count()
    assert 0 < stored_at_kill < ROWS, "killed in the middle"
    cursor = json.loads(folder.sql("select cursor from stream_state")[0][0])
    assert cursor["complete"] is False
    assert cursor["rows"] == stored_at_kill, "the cursor moved exactly with the committed batches"
    assert folder.sql("select status from runs") == [("running",)], "the killed run never finished"

    r = folder.hub("run", "amal", "--json")
    assert r.code == 0, r.err
    run = json.loads(r.out)["runs"][0]
    assert run["read"] == ROWS - stored_at_kill, "the second run resumed after the last committed row"
    assert run["inserted"] == ROWS - stored_at_kill
    assert folder.sql("select count(*), count(distinct key), max(version) from records") == [(ROWS, ROWS, 1)]
    ids = {json.loads(d)["id"] for (d,) in folder.sql("select data from records")}
    assert ids == {f"D{i:07d}" for i in range(ROWS)}
    cursor = json.loads(folder.sql("select cursor from stream_state")[0][0])
    assert (cursor["rows"], cursor["complete"]) == (ROWS, True)
    # Its process gone, the killed run no longer holds the connection nor reads "running".
    assert folder.sql("select status from runs order by id") == [("interrupted",), ("succeeded",)]
