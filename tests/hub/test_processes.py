"""A run's holder (``host:pid``) looked at on this machine: alive, ended, a pid given again, or elsewhere."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta

from hub.processes import alive, holder_id


def test_a_running_process_is_alive_and_a_killed_one_is_not():
    started = datetime.now(UTC)
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        holder = f"{holder_id().rpartition(':')[0]}:{proc.pid}"
        assert alive(holder, started + timedelta(seconds=1)) is True
    finally:
        proc.kill()
        proc.wait()
    assert alive(holder, started + timedelta(seconds=1)) is False


def test_a_pid_given_to_a_newer_process_is_not_the_runs():
    # A run that began an hour ago under this pid cannot be this process, which started later:
    # the system gave the pid again after the run's own process ended.
    an_hour_ago = datetime.now(UTC) - timedelta(hours=1)
    assert alive(holder_id(), an_hour_ago) is False
    assert alive(holder_id(), datetime.now(UTC)) is True


def test_another_machine_or_another_form_cannot_be_told():
    assert alive("elsewhere.example:4242", datetime.now(UTC)) is None
    assert alive("worker-7", datetime.now(UTC)) is None
    assert alive(None, None) is None
