"""Ctrl-C during ``hub run``: the first press stops after the batch being written, the second at once.

A batch is committed whole or not at all, so stopping between two batches loses nothing and
the next run resumes exactly there. Stopping in the middle of one is safe too (its transaction
is rolled back), but it leaves the run to be closed in a hurry; most people who press Ctrl-C
can wait the second or two a batch takes, and are told so.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from hub.cli.output import fail, say

__all__ = ["STOPPED_BY_HAND", "stop_on_ctrl_c"]

STOPPED_BY_HAND = "stopped by hand (Ctrl-C)"


@contextmanager
def stop_on_ctrl_c() -> Iterator[threading.Event]:
    """An event set by the first Ctrl-C within the block; a second Ctrl-C ends the command (exit 130).

    Outside the main thread (where Python delivers signals) the event is never set and Ctrl-C
    keeps its usual effect.
    """
    asked = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield asked
        return

    def on_ctrl_c(signum, frame) -> None:
        if asked.is_set():
            raise KeyboardInterrupt
        asked.set()
        say(("stopping", "yellow"), " after the batch being written; Ctrl-C again to stop at once", err=True)

    previous = signal.signal(signal.SIGINT, on_ctrl_c)
    try:
        yield asked
    except KeyboardInterrupt:
        # The run has recorded itself as stopped; what is left is to say so.
        fail(
            f"{STOPPED_BY_HAND} twice: stopped at once, the batch being written was not kept; the next run resumes after the last committed batch",
            130,
        )
    finally:
        signal.signal(signal.SIGINT, previous)
