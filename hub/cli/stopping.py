"""Stopping ``hub run`` by hand or by a service manager: the first signal stops after the batch being written.

A batch is committed whole or not at all, so stopping between two batches loses nothing and
the next run resumes exactly there. Stopping in the middle of one is safe too (its transaction
is rolled back), but it leaves the run to be closed in a hurry. Most people who press Ctrl-C
can wait the second or two a batch takes, and are told so; so can systemd, a container
runtime or ``timeout``, which send SIGTERM and wait (90 s, 10 s) before they kill.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from hub.cli.output import fail, say

__all__ = ["STOPPED_BY_HAND", "STOPPED_BY_SIGTERM", "StopRequest", "stop_on_signal"]

STOPPED_BY_HAND = "stopped by hand (Ctrl-C)"
STOPPED_BY_SIGTERM = "stopped by SIGTERM (a service manager, `timeout` or `kill` asked it to stop)"

# Per signal: why the run stopped, the exit code (128 + the signal, as a shell reports it), what to say.
_SIGNALS = {
    signal.SIGINT: (STOPPED_BY_HAND, 130, "Ctrl-C again to stop at once"),
    signal.SIGTERM: (STOPPED_BY_SIGTERM, 143, "a second SIGTERM stops at once"),
}


class StopRequest:
    """Whether a stop was asked for, why (for the run's record) and the exit code to end with."""

    def __init__(self) -> None:
        self._asked = threading.Event()
        self.why = STOPPED_BY_HAND
        self.exit_code = 130

    def is_set(self) -> bool:
        return self._asked.is_set()

    def ask(self, signum: int) -> None:
        self.why, self.exit_code, _ = _SIGNALS[signum]
        self._asked.set()


@contextmanager
def stop_on_signal() -> Iterator[StopRequest]:
    """A request set by the first Ctrl-C or SIGTERM within the block; a second one ends the command at once.

    Outside the main thread (where Python delivers signals) the request is never set and the
    signals keep their usual effect.
    """
    stop = StopRequest()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return

    def on_signal(signum, frame) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.ask(signum)
        say(("stopping", "yellow"), f" after the batch being written; {_SIGNALS[signum][2]}", err=True)

    previous = {signum: signal.signal(signum, on_signal) for signum in _SIGNALS}
    try:
        yield stop
    except KeyboardInterrupt:
        # The run has recorded itself as stopped; what is left is to say so.
        fail(
            f"{stop.why} twice: stopped at once, the batch being written was not kept; the next run resumes after the last committed batch",
            stop.exit_code,
        )
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
