"""Who runs a run, and whether that process is still there: the holder of a run's lease.

A run names its process ``host:pid``. On the same machine the hub can look: a process that
has ended frees its connection at once, and one that is alive holds it even when a long
commit kept its heartbeat from being written. A pid the system gave to a newer process is
told apart by the process's start time, which must not be later than the run's. For a
process on another machine the answer is "cannot tell", and the lease decides.
"""

from __future__ import annotations

import os
import socket
from datetime import UTC, datetime
from pathlib import Path

__all__ = ["alive", "holder_id"]

# A run's process starts before it writes the run, so its start is never later than the run's;
# the slack covers the boot time's whole seconds and a clock stepped since boot. A pid given
# again within it after a kill is taken as the run's own: it holds until that process ends.
_SLACK_SECONDS = 30.0


def holder_id() -> str:
    """This process as a run's holder: ``host:pid``."""
    return f"{socket.gethostname()}:{os.getpid()}"


def alive(holder: str | None, started_at: datetime | None) -> bool | None:
    """Whether ``holder`` (``host:pid``), which started a run at ``started_at``, is still running.

    None when this machine cannot tell: another host, another system than Linux, a holder
    written in another form.
    """
    host, _, pid_text = (holder or "").rpartition(":")
    if os.name != "posix" or host != socket.gethostname() or not pid_text.isdigit():
        return None
    pid = int(pid_text)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: there, and judged by its start below
        pass
    except OSError:
        return None
    began = _process_start(pid)
    if began is None or started_at is None:
        return None if began is None else True
    return began.timestamp() <= started_at.timestamp() + _SLACK_SECONDS


def _process_start(pid: int) -> datetime | None:
    """When process ``pid`` started, from /proc (Linux); None where that cannot be read."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        boot = next(int(line.split()[1]) for line in Path("/proc/stat").read_text().splitlines() if line.startswith("btime "))
    except (OSError, StopIteration, ValueError, IndexError):
        return None
    ticks = int(stat.rsplit(")", 1)[1].split()[19])  # field 22, counted after the command's ")"
    return datetime.fromtimestamp(boot + ticks / os.sysconf("SC_CLK_TCK"), UTC)
