"""Keeping a running run's lease: a heartbeat written from a thread of its own while the run works.

The lease is what keeps a connection from running twice at once across processes (see
``hub.store.runs``): a run renews ``heartbeat_at`` every third of ``lease_seconds``, so a run
that goes silent for a whole lease is one whose process is gone. If the heartbeat finds the
run no longer ours (it was taken as stopped while this process stalled, and another run may
have started), ``lost`` is set and the run stops after its current batch.
"""

from __future__ import annotations

import logging
import threading
from types import TracebackType

from sqlalchemy import Engine

from hub.store import runs as run_store

log = logging.getLogger(__name__)

__all__ = ["RunLease"]


class RunLease:
    """``with RunLease(engine, run_id, worker, seconds) as lease:`` renews the run's lease until the block ends."""

    def __init__(self, engine: Engine, run_id: int, worker: str, lease_seconds: float) -> None:
        self.engine, self.run_id, self.worker = engine, run_id, worker
        self.every = max(0.5, lease_seconds / 3)
        self.lost = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._renew, name=f"lease-{run_id}", daemon=True)

    def _renew(self) -> None:
        while not self._stop.wait(self.every):
            try:
                if not run_store.heartbeat(self.engine, self.run_id, self.worker):
                    log.warning("run %s is no longer held by this process (taken as stopped); it stops after this batch", self.run_id)
                    self.lost.set()
                    return
            except Exception as exc:  # noqa: BLE001 - a missed heartbeat is tried again; the lease has slack for two
                log.warning("heartbeat of run %s failed: %s", self.run_id, exc)

    def __enter__(self) -> RunLease:
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self._stop.set()
        self._thread.join()
