"""Runs on Celery workers over Redis, when one machine is not enough.

``hub serve --executor celery`` (or ``hub enqueue``) writes a *queued* run row, whose unique
(connection, slot) key still lets only one scheduler claim a slot, and sends its id to the
broker. ``hub worker`` claims the row (queued -> running, atomically, so a run is executed by
one worker), renews a lease on it while it works, and carries on from the streams' committed
cursors. A worker killed mid-run stops renewing; the scheduler's reaper puts the run back in
the queue once the lease has lapsed, and another worker finishes it: the counts are those of
the committed batches, so they come out exact.

The broker carries only run ids; the store is the truth. Celery's own acknowledgement is
early (a message is not redelivered), because redelivery is the reaper's job, decided on the
lease and not on a broker timeout.
"""

from __future__ import annotations

import logging
import os
import socket
from functools import cache
from pathlib import Path

from celery import Celery
from sqlalchemy.exc import DatabaseError

from hub.app import Hub
from hub.errors import ConfigError, HubError, StoreError
from hub.pipeline.lease import RunLease
from hub.pipeline.run import run_connection
from hub.processes import holder_id
from hub.store import runs as run_store
from hub.store.failures import as_hub_error
from hub.store.runs import SlotTaken

__all__ = ["TASK", "celery_app", "enqueue", "execute", "reap"]

TASK = "wasl_hub.run"
STORE_AWAY_RETRY_SECONDS = 5  # a run taken while the store is away is asked for again this much later
log = logging.getLogger("hub.worker")


def _settings(hub: Hub) -> dict:
    section = hub.config.celery or {}
    if not section.get("broker"):
        raise ConfigError(f"{hub.config.path}: celery.broker is not set", hint="celery: {broker: redis://127.0.0.1:6379/0}")
    return section


@cache
def celery_app(broker: str) -> Celery:
    """The Celery application for a broker URL (one per process)."""
    app = Celery("wasl_hub", broker=broker)
    app.conf.update(
        task_serializer="json",
        accept_content=["json"],
        task_acks_late=False,
        worker_prefetch_multiplier=1,
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
        task_ignore_result=True,
    )

    @app.task(name=TASK)
    def run_task(config_path: str, run_id: int) -> None:
        execute(Path(config_path), run_id)

    return app


def enqueue(hub: Hub, connection: str, *, trigger: str = "manual", scheduled_for=None) -> int | None:
    """Queue a run of ``connection`` for the workers; None when the slot already has a run."""
    hub.config.connection(connection)
    try:
        run_id = run_store.queue_run(hub.store.engine, connection, trigger=trigger, scheduled_for=scheduled_for)
    except SlotTaken:
        return None
    _send(hub, run_id)
    return run_id


def _send(hub: Hub, run_id: int) -> None:
    app = celery_app(_settings(hub)["broker"])
    app.send_task(TASK, args=[str(hub.config.path), run_id])


def reap(hub: Hub) -> list[int]:
    """Put runs whose lease lapsed back in the queue, and send them again."""
    lease = hub.config.lease_seconds
    ids = run_store.requeue_lost(hub.store.engine, lease)
    for run_id in ids:
        log.warning("run %s lost its worker (no heartbeat for %ss): queued again", run_id, lease)
        _send(hub, run_id)
    return ids


@cache
def _hub(config_path: str) -> Hub:
    return Hub.from_path(config_path)


def execute(config_path: Path, run_id: int) -> None:
    """A worker's part: claim the run, keep its lease, run it."""
    hub = _hub(str(config_path))
    worker = holder_id()
    try:
        hub.store.checkpoint_in_background()  # once per worker process (its hub is kept): see hub.store.checkpoint
        connection = run_store.claim_run(hub.store, run_id, worker, hub.config.lease_seconds)
    except (StoreError, DatabaseError) as exc:
        # The store is away (a PostgreSQL failover): the broker has handed over the message,
        # and the run, still queued, would wait for no one. It is asked for again shortly.
        said = as_hub_error(exc)
        log.error("run %s: store unavailable, asked for again in %s s: %s", run_id, STORE_AWAY_RETRY_SECONDS, said)
        celery_app(_settings(hub)["broker"]).send_task(TASK, args=[str(config_path), run_id], countdown=STORE_AWAY_RETRY_SECONDS)
        return
    if connection is None:
        if run_store.run_status(hub.store.engine, run_id) == "queued":
            # Its connection is running elsewhere: ask again shortly, never run it twice at once.
            celery_app(_settings(hub)["broker"]).send_task(TASK, args=[str(config_path), run_id], countdown=1)
        return
    try:
        with RunLease(hub.store.engine, run_id, worker, hub.config.lease_seconds) as lease:
            run_connection(hub, connection, run_id=run_id, should_stop=lease.lost.is_set)
    except HubError as exc:
        log.error("run %s of %s failed: %s", run_id, connection, exc)


def start_worker(config_path: Path, concurrency: int = 1, *, quiet: bool = False) -> None:
    """``hub worker``: take runs from the broker until stopped (``quiet``: without Celery's banner)."""
    hub = Hub.from_path(config_path)
    hub.store  # noqa: B018 - migrate before taking work
    app = celery_app(_settings(hub)["broker"])
    pool = ["--pool", "solo"] if concurrency == 1 else ["--pool", "threads", "--concurrency", str(concurrency)]
    app.worker_main(
        [
            *(["--quiet"] if quiet else []),  # Celery's own option, before its command
            "worker",
            *pool,
            "--loglevel",
            "WARNING",
            "--hostname",
            f"wasl-{socket.gethostname()}-{os.getpid()}@%h",
            "--without-gossip",
            "--without-mingle",
        ]
    )
