"""Running a connection: read each stream in batches, commit each batch, drain the outbox.

``run_connection`` is the one service the CLI, the scheduler and the API call to run a sync.
It records the run (trigger, times, counts, errors), calls the run event hooks, and flags a
run that read nothing where the last ten read something, which is how a broken export or a
moved file usually first shows itself.
"""

from __future__ import annotations

import copy
import logging
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from hub.app import Hub
from hub.config import ConnectionConfig
from hub.connector_faults import connector_code, streams_of
from hub.cursors import check_cursor
from hub.errors import ConfigError, HubError, InputError
from hub.mapping import compile_mapping, identity_mapping
from hub.pipeline.backfill import queue_for_new_destinations
from hub.pipeline.batch import commit_batch
from hub.pipeline.deliver import drain
from hub.pipeline.destination_stores import notice_replaced_store
from hub.pipeline.gone import KeysMet
from hub.pipeline.lease import RunLease
from hub.pipeline.prepare import Preparer
from hub.pipeline.reader import batches, can_fork, forked_batches
from hub.processes import holder_id
from hub.sdk import Connector, Cursor, Stream
from hub.secrets import redactor
from hub.skiprules import compile_skip_rules
from hub.store import runs as run_store
from hub.store import state as state_store
from hub.store.db import let_go_after_interrupt
from hub.store.failures import in_words
from hub.text.nearest import did_you_mean

__all__ = [
    "begin_run",
    "build_preparer",
    "check_columns",
    "destinations_for",
    "DEFERRED",
    "delivery_targets",
    "destination_transforms",
    "drain_destinations",
    "end_run",
    "fail_run",
    "named_transforms",
    "reports_deleted",
    "run_connection",
]

log = logging.getLogger("hub.run")
DEFERRED = "delivery deferred:"  # a run's flag: what a destination could not take waits for a retry
Progress = Callable[[str, int], None]


def named_transforms(hub: Hub, names: Sequence[str], where: str) -> list[tuple[str, Callable]]:
    """The plugins' transforms that ``names`` lists, in order; an unknown name is a ConfigError at ``where``."""
    transforms = []
    for name in names:
        try:
            transforms.append((name, hub.plugins.transforms.get(name)))
        except KeyError:
            guess = did_you_mean(name, hub.plugins.transforms.names())
            raise ConfigError(
                f"{where}: unknown transform {name!r}{guess}",
                hint=f"known: {', '.join(hub.plugins.transforms.names()) or 'none'}",
            ) from None
    return transforms


def destination_transforms(hub: Hub, destination: str) -> list[tuple[str, Callable]]:
    """What every record sent to ``destination`` goes through first (its connection's ``transforms``)."""
    cfg = hub.config.connections.get(destination)
    return named_transforms(hub, cfg.transforms if cfg else (), f"connections.{destination}.transforms")


def build_preparer(hub: Hub, connection: str, stream: Stream) -> Preparer:
    """The per-record pipeline of one stream, from the config as it is now."""
    cfg = stream.config
    where = f"connections.{connection}.streams.{stream.name}"
    mapping = None
    if cfg is not None and cfg.mapping:
        mapping = compile_mapping(cfg.mapping, timezone=hub.config.timezone, where=f"{where}.mapping", keep_unmapped=cfg.keep_unmapped)
    transforms = named_transforms(hub, cfg.transforms if cfg else (), f"{where}.transforms")
    skip = compile_skip_rules(list(cfg.skip), where=f"{where}.skip") if cfg is not None else None
    return Preparer(stream.entity, stream.key, mapping, transforms, {"connection": connection, "stream": stream.name}, skip)


def check_columns(connection: str, stream: Stream, preparer: Preparer) -> None:
    columns = stream.columns()
    if columns is None:
        return
    source = getattr(stream, "file_path", None)
    what = str(source()) if source else f"connection {connection!r}"
    if preparer.skip is not None:
        _check_named(what, columns, preparer.skip.columns, f"connections.{connection}.streams.{stream.name}.skip")
    if preparer.mapping is None:
        preparer.mapping = identity_mapping(stream.entity, columns, what)
        return
    _check_named(what, columns, preparer.mapping.columns, f"connections.{connection}.streams.{stream.name}.mapping")


def _check_named(what: str, columns: list[str], named: set[str], where: str) -> None:
    missing = sorted(named - set(columns))
    if missing:
        raise InputError(
            f"{what}: column(s) {', '.join(repr(m) for m in missing)} not found (named in {where})",
            hint=f"the source has: {', '.join(columns)}",
        )


def destinations_for(hub: Hub, connection: str, entity: str) -> list[str]:
    out = []
    for d in hub.config.connection(connection).destinations:
        ents = hub.config.connection(d).entities
        if ents is None or entity in ents:
            out.append(d)
    return out


class _Interrupted(Exception):
    """The hub is stopping: the run ends after the batch it just committed."""


_SHOWN_KEYS = 5  # keys named in a flag; the rest are counted


def reports_deleted(connection: str, stream: Stream, *, alone: bool) -> bool:
    """Whether the stream's config asks for deleted rows to be named, and whether they can be."""
    if stream.config is None or not stream.config.report_deleted:
        return False
    where = f"connections.{connection}.streams.{stream.name}.report_deleted"
    if not stream.reads_whole:
        raise ConfigError(
            f"{where}: this connector reads its source incrementally, so no run sees every row of it",
            hint="only a source read whole each run can tell which rows were deleted: a csv, xlsx or jsonl file, a query without a cursor_column, "
            "a kobo form, an odk form with reread_every_hours (when it reads every submission again)",
        )
    if not alone:
        raise ConfigError(
            f"{where}: another stream of this connection yields {stream.entity} records too",
            hint="the records cannot be told apart by stream: report deleted rows on a connection of its own",
        )
    return True


def _run_stream(
    hub: Hub,
    connection: str,
    stream: Stream,
    run_id: int,
    progress: Progress | None,
    quarantined_hook,
    should_stop=None,
    *,
    alone: bool = True,
) -> list[str]:
    """Read, prepare and commit ``stream`` batch by batch; returns its flags (keys read twice, all skipped, records gone).

    ``alone``: no other stream of the connection yields its entity, so that the records of
    this connection and entity are this stream's, and a whole read can tell which are gone.
    """
    met = KeysMet() if reports_deleted(connection, stream, alone=alone) else None
    preparer = build_preparer(hub, connection, stream)
    check_columns(connection, stream, preparer)
    destinations = destinations_for(hub, connection, stream.entity)
    with hub.store.engine.connect() as conn:
        cursor = Cursor(state_store.load_cursor(conn, connection, stream.name))
    check_cursor(connection, stream, cursor.value, saved=True)
    before = copy.deepcopy(cursor.value)
    produce = forked_batches if hub.config.parallel and can_fork() else batches
    total = skipped = settled = 0
    repeated, shown = 0, []
    last = before
    for batch in produce(stream, cursor, preparer, hub.config.batch_size):
        result = commit_batch(
            hub.store,
            run_id=run_id,
            connection=connection,
            stream=stream.name,
            entity=stream.entity,
            read=batch.read,
            skipped=len(batch.skipped),
            prepared=batch.prepared,
            rejected=batch.rejected,
            destinations=destinations,
            cursor=batch.cursor,
        )
        if result.quarantined:
            quarantined_hook(result.quarantined)
        settled += result.settled
        if result.repeated:
            repeated += len(result.repeated)
            shown += [k for k in dict.fromkeys(result.repeated) if k not in shown][: _SHOWN_KEYS - len(shown)]
        stream.committed(batch.cursor)
        if met is not None:
            met.add(batch.prepared, batch.rejected)
        last = batch.cursor
        total += batch.read
        skipped += len(batch.skipped)
        if progress:
            progress(stream.name, total)
        if should_stop is not None and should_stop():
            raise _Interrupted
    flags = []
    said = stream.cursor_note(before, last) if last != before else None
    if said:
        flags.append(f"{stream.name}: {said}")
    if repeated:
        more = f" and {repeated - len(shown)} more" if repeated > len(shown) else ""
        flags.append(
            f"{stream.name}: {repeated} record(s) came again in this run with other content, the later kept "
            f"(two rows with one key?): {', '.join(shown)}{more}"
        )
    if settled:
        flags.append(
            f"{stream.name}: {settled} row(s) came again as they were when a person dismissed or corrected them in quarantine;"
            " passed over (counted as skipped)"
        )
    if total and skipped == total:
        # A source without a fixed set of columns (an API) cannot have its rules checked
        # against them before the run: an ``empty`` rule on a misspelt field skips everything.
        flags.append(
            f"{stream.name}: the skip rules skipped every one of the {total} row(s) read: does a rule name a column the rows lack?"
        )
    if met is not None and stream.read_whole(before, last):
        gone = met.gone_flag(hub.store, connection=connection, stream=stream.name, entity=stream.entity)
        if gone:
            flags.append(gone)
    return flags


def _notices(destination: str, connector: Connector) -> list[str]:
    """What the destination says a person should do soon (Connector.notices), as run flags; never a reason to stop."""
    try:
        with connector_code(connector, "saying what to do about it soon (notices)"):
            said = [f"{destination}: {notice}" for notice in connector.notices()]
    except HubError as exc:
        log.warning("%s: %s", destination, exc)
        return []
    for line in said:
        log.warning("%s", line)
    return said


def delivery_targets(cfg: ConnectionConfig, connector: type[Connector] | Connector) -> list[str]:
    """The destinations a run of this connection delivers to: its own, or itself when it is one run on its own."""
    targets = list(cfg.destinations)
    if connector.is_destination() and not cfg.streams:
        targets.append(cfg.name)  # a destination run on its own: deliver what waits for it
    return targets


def drain_destinations(
    hub: Hub, destinations: list[str], run_id: int | None, *, should_stop: Callable[[], bool] | None = None
) -> dict[str, Any]:
    """Deliver what is pending for each destination; returns counts, the last error and notes.

    A destination whose store changed since it last said (hub.pipeline.destination_stores) is
    first given everything again, and ``notes`` says so. Once ``should_stop()`` answers yes,
    no further batch is sent: what waits stays in the outbox.
    """
    delivered = failed = 0
    errors, quarantined, notes = [], [], []
    for d in destinations:
        if should_stop is not None and should_stop():
            break
        transforms = destination_transforms(hub, d)
        connector = hub.open_connector(d)
        try:
            notes += notice_replaced_store(hub, d, connector)
            notes += _notices(d, connector)
            res = drain(
                hub.store,
                d,
                connector,
                transforms=transforms,
                run_id=run_id,
                batch_size=getattr(connector, "batch_size", 500),
                in_flight=connector.max_in_flight,
                should_stop=should_stop,
            )
        finally:
            connector.close()
        delivered += res.delivered
        failed += res.rejected
        quarantined += res.quarantined
        if res.error:
            errors.append(f"{d}: {res.error} ({res.deferred} deferred)")
    return {"delivered": delivered, "delivery_failed": failed, "errors": errors, "quarantined": quarantined, "notes": notes}


def begin_run(hub: Hub, connection: str, *, trigger: str, scheduled_for: datetime | None = None, run_id: int | None = None) -> dict:
    """Record a run's start (or carry on ``run_id``) and tell the plugins; returns the run as hooks see it.

    Syncs and the hub's own jobs (``job:NAME``) are recorded alike, so runs, notifiers and
    the slot-once rule treat them the same. A new run holds its connection (ConnectionBusy
    while another process runs it); the caller keeps the lease with ``RunLease``.
    """
    if run_id is None:
        with hub.store.writing(f"runs:{connection}") as conn:
            run_id = run_store.start_run(
                conn,
                connection,
                trigger=trigger,
                scheduled_for=scheduled_for,
                worker=holder_id(),
                lease_seconds=hub.config.lease_seconds,
            )
    run_info = {"id": run_id, "connection": connection, "trigger": trigger}
    hub.plugins.hook.hub_run_started(run=run_info)
    return run_info


def fail_run(hub: Hub, run_info: dict, exc: BaseException) -> None:
    """Record why a run failed (secrets masked) and tell the plugins; the caller re-raises."""
    said = exc if isinstance(exc, HubError) else in_words(exc)
    message = redactor.redact(str(said) if said is not None else f"{type(exc).__name__}: {exc}")
    run_store.finish_run(hub.store.engine, run_info["id"], status="failed", error=message)
    hub.plugins.hook.hub_run_failed(run=run_info, error=message)


def end_run(hub: Hub, run_info: dict, *, status: str, flags: list[str] | None) -> dict[str, Any]:
    """Record a run's end and tell the plugins; returns the finished run (as ``hub runs`` shows it)."""
    run_store.finish_run(hub.store.engine, run_info["id"], status=status, flags=flags or None)
    run = run_store.get_run(hub.store.engine, run_info["id"])
    hub.plugins.hook.hub_run_finished(run=run)
    return run


def run_connection(
    hub: Hub,
    connection: str,
    *,
    trigger: str = "manual",
    scheduled_for: datetime | None = None,
    progress: Progress | None = None,
    should_stop: Callable[[], bool] | None = None,
    stopped_why: str | Callable[[], str] = "the hub stopped",
    run_id: int | None = None,
) -> dict[str, Any]:
    """Run one connection end to end and return the finished run (as ``hub runs`` shows it).

    ``should_stop``: asked after each committed batch, and before each batch sent to a
    destination; once it answers yes the run ends there as "interrupted", and ``stopped_why``
    (or what it returns, asked then) says why on the run. ``run_id``: carry on an existing
    run a worker has claimed (its counts so far are kept, and its streams resume from their
    committed cursors) instead of starting a new one.
    """
    cfg = hub.config.connection(connection)
    if run_id is not None:  # a worker's run: the worker keeps its lease
        return _run(hub, cfg, begin_run(hub, connection, run_id=run_id, trigger=trigger), progress, should_stop, stopped_why)
    run_info = begin_run(hub, connection, trigger=trigger, scheduled_for=scheduled_for)
    with RunLease(hub.store.engine, run_info["id"], holder_id(), hub.config.lease_seconds) as lease:

        def stop() -> bool:
            return lease.lost.is_set() or (should_stop is not None and should_stop())

        return _run(hub, cfg, run_info, progress, stop, stopped_why, lost=lease.lost)


def _said(why: str | Callable[[], str]) -> str:
    return why() if callable(why) else why


def _run(
    hub: Hub,
    cfg: ConnectionConfig,
    run_info: dict,
    progress: Progress | None,
    should_stop: Callable[[], bool] | None,
    stopped_why: str | Callable[[], str],
    lost: threading.Event | None = None,
) -> dict[str, Any]:
    """The run's work: every stream, then the deliveries; the run's end recorded whatever happens.

    ``lost`` is set when the run's lease was taken from this process: it then stops after the
    batch it committed, as when the hub stops, and says why.
    """
    connection, run_id, store = cfg.name, run_info["id"], hub.store

    def quarantined(entries):
        hub.plugins.hook.hub_records_quarantined(run=run_info, entries=entries)

    connector = None
    deferred: list[str] = []
    notes: list[str] = []  # flags: keys read twice, records gone from the source, records queued for a new or restored destination
    try:
        connector = hub.open_connector(connection)
        streams = streams_of(connector)
        entities = Counter(s.entity for s in streams)
        for stream in streams:
            said = _run_stream(hub, connection, stream, run_id, progress, quarantined, should_stop, alone=entities[stream.entity] == 1)
            for flag in said:
                log.warning("%s: %s", connection, flag)
            notes += said
        # After the streams: what they stored is queued already, and only the rest is added.
        notes += queue_for_new_destinations(hub, cfg, run_id)
        targets = delivery_targets(cfg, connector)
        if targets:
            d = drain_destinations(hub, targets, run_id, should_stop=should_stop)
            if d["quarantined"]:
                quarantined(d["quarantined"])
            with store.engine.begin() as conn:
                run_store.add_counts(conn, run_id, {"delivered": d["delivered"], "delivery_failed": d["delivery_failed"]})
            if should_stop is not None and should_stop():
                raise _Interrupted  # what was not sent waits in the outbox for the next run
            notes += d["notes"]
            deferred = d["errors"]
            for err in deferred:
                log.warning("delivery deferred: %s", err)
    except _Interrupted:
        why = (
            "this process went silent for longer than its lease and the run was taken as stopped"
            if lost is not None and lost.is_set()
            else _said(stopped_why)
        )
        run_store.finish_run(
            store.engine, run_id, status="interrupted", error=f"{why}; the next run resumes after the last committed batch"
        )
        return run_store.get_run(store.engine, run_id)
    except Exception as exc:  # noqa: BLE001 - recorded on the run, then re-raised for the caller
        fail_run(hub, run_info, exc)
        raise
    except BaseException as interrupt:
        # Ctrl-C pressed twice in ``hub run``: the run ends here, not "running" for a lease's
        # length, so the connection can run again at once.
        let_go_after_interrupt(interrupt)
        run_store.finish_run(
            store.engine,
            run_id,
            status="interrupted",
            error=f"{_said(stopped_why)}, twice: stopped at once; the next run resumes after the last committed batch",
        )
        raise
    finally:
        if connector is not None:
            connector.close()
    run = run_store.get_run(store.engine, run_id)
    flags = []
    if run["read"] == 0 and connector is not None and connector.is_source():
        before = run_store.recent_reads(store.engine, connection, before_id=run_id)
        if before and all(n > 0 for n in before):
            flags.append(f"read nothing, where the last {len(before)} run(s) read {min(before)} or more")
    flags += notes
    flags += [f"{DEFERRED} {e}" for e in deferred]
    status = "partial" if run["quarantined"] or run["delivery_failed"] or deferred else "succeeded"
    return end_run(hub, run_info, status=status, flags=flags)
