"""Draining the outbox into a destination connector, batch by batch.

A batch the destination takes is marked delivered; records it rejects go to quarantine with
its reasons (never a silent drop); a transient failure leaves the rows pending with a
backoff, and the drain stops for this destination until the next run.

A destination configured with ``transforms`` is sent each record as they leave it (the open
data export without donors' names, say), while the store keeps it whole. A record a transform
fails on goes to quarantine with the reason, and the rest of its batch is sent.

A destination that declares ``max_in_flight`` above 1 (one that applies record versions, not
arrival order, such as another Wasl hub) gets that many batches at once, each from its own
thread: the next batch is on the wire while the receiver stores the one before and this hub
marks the one before that. Outcomes are still taken and marked in outbox order.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import orjson

from hub.connector_faults import connector_code
from hub.errors import DeliveryError, RecordProblem, TransientDeliveryError
from hub.sdk import Connector, Delivery, WriteResult
from hub.secrets import redactor
from hub.store import Store
from hub.store import outbox as outbox_store
from hub.store import quarantine as quarantine_store
from hub.store.types import utcnow

__all__ = ["DrainResult", "drain"]


@dataclass
class DrainResult:
    """What one drain did for one destination."""

    delivered: int = 0
    rejected: int = 0
    deferred: int = 0
    error: str | None = None
    quarantined: list[dict] = field(default_factory=list)


@dataclass
class _Sent:
    """One batch handed to the destination: its outbox rows and the answer to come."""

    entity: str
    items: list[dict]
    deliveries: list[Delivery]
    at: datetime
    answer: Future

    def part(self, keep: Callable[[str], bool]) -> _Sent:
        """The rows of this batch whose idempotency key ``keep`` accepts, as a batch of their own."""
        chosen = [n for n, r in enumerate(self.items) if keep(r["idempotency_key"])]
        return _Sent(self.entity, [self.items[n] for n in chosen], [self.deliveries[n] for n in chosen], self.at, self.answer)


def _backoff(attempts: int, retry_after: float | None) -> timedelta:
    if retry_after is not None:
        return timedelta(seconds=max(0.0, retry_after))
    base = min(3600.0, 5.0 * (2 ** min(attempts, 10)))
    return timedelta(seconds=base * (0.5 + random.random() / 2))  # full jitter, half floor


def _done(fn: Callable, *args) -> Future:
    """``fn(*args)`` run here and now, as a finished future (one batch in flight needs no thread)."""
    future: Future = Future()
    try:
        future.set_result(fn(*args))
    except BaseException as exc:  # handed to whoever reads the answer, as a thread's would be
        future.set_exception(exc)
    return future


def _answer(sent: _Sent) -> WriteResult | DeliveryError:
    """The destination's answer to a batch; a DeliveryError is an answer (every record refused)."""
    try:
        return sent.answer.result()
    except TransientDeliveryError:
        raise
    except DeliveryError as exc:
        return exc
    except OSError as exc:
        # The destination's disk said no (full, failing, not writable): not the records' fault,
        # so not their quarantine; they wait in the outbox and go out once it takes them.
        where = f"{exc.filename}: " if exc.filename else ""
        raise TransientDeliveryError(f"{where}{exc.strerror or exc}") from None


def _never() -> bool:
    return False


def drain(
    store: Store,
    destination: str,
    connector: Connector,
    *,
    run_id: int | None,
    batch_size: int = 500,
    in_flight: int = 1,
    should_stop: Callable[[], bool] | None = None,
    transforms: Sequence[tuple[str, Callable]] = (),
) -> DrainResult:
    """Deliver every due pending row of ``destination``, up to ``in_flight`` batches at once.

    The next rows are read from the store while the destination takes the current batch (a
    thread: the write waits on the network), so a remote destination is never kept waiting
    for the outbox. Once ``should_stop()`` answers yes, the batches already sent are answered
    and marked, and nothing more is sent: the rest stays pending, as it was.
    """
    with ExitStack() as stack:
        reader = stack.enter_context(ThreadPoolExecutor(1, thread_name_prefix="outbox-read"))
        if in_flight > 1:
            submit = stack.enter_context(ThreadPoolExecutor(in_flight, thread_name_prefix="outbox-send")).submit
        else:
            submit = _done
        drainer = _Drain(store, destination, connector, run_id, should_stop or _never, tuple(transforms))
        return drainer.run(reader, submit, batch_size, in_flight)


class _Drain:
    """One destination's drain: sends batches, then settles each answer in outbox order."""

    def __init__(
        self,
        store: Store,
        destination: str,
        connector: Connector,
        run_id: int | None,
        should_stop: Callable[[], bool],
        transforms: tuple[tuple[str, Callable], ...] = (),
    ) -> None:
        self.store = store
        self.destination = destination
        self.connector = connector
        self.run_id = run_id
        self.should_stop = should_stop
        self.transforms = transforms
        self.result = DrainResult()

    def deliveries(self, entity: str, items: list[dict]) -> tuple[list[Delivery], dict[str, list[RecordProblem]]]:
        """The batch as the destination is sent it, and the records a transform failed on (by key).

        Without transforms the stored JSON goes as it is. A failed record keeps its place in the
        batch (as stored) until :meth:`refuse` takes it out.
        """
        if not self.transforms:
            return [Delivery(r["idempotency_key"], entity, r["key"], r["version"], raw=r["raw"]) for r in items], {}
        out, failed = [], {}
        context = {"connection": self.destination, "entity": entity}
        for r in items:
            record, problem = orjson.loads(r["raw"]), None
            for name, fn in self.transforms:
                try:
                    record = fn(record, context)
                except Exception as exc:  # a plugin's error: this record's, said with the transform's name
                    problem = f"transform {name} failed: {type(exc).__name__}: {exc}"
                else:
                    problem = None if isinstance(record, dict) else f"transform {name} returned no record"
                if problem:
                    break
            if problem:
                failed[r["idempotency_key"]] = [RecordProblem("(record)", "transform", redactor.redact(problem))]
                out.append(Delivery(r["idempotency_key"], entity, r["key"], r["version"], raw=r["raw"]))
            else:
                out.append(Delivery(r["idempotency_key"], entity, r["key"], r["version"], record=record))
        return out, failed

    def fetch(self, after_id: int, limit: int) -> list[dict]:
        with self.store.engine.connect() as conn:
            return outbox_store.pending(conn, self.destination, now=utcnow(), limit=limit, after_id=after_id)

    def run(self, reader: ThreadPoolExecutor, submit: Callable, batch_size: int, in_flight: int) -> DrainResult:
        window: deque[_Sent] = deque()  # sent, answer not yet marked; oldest first
        queued: deque[tuple[str, list[dict]]] = deque()  # read, not yet sent: one batch per entity
        upcoming: Future | None = reader.submit(self.fetch, 0, batch_size)
        try:
            while True:
                while len(window) < in_flight and not self.should_stop():
                    if queued:
                        entity, items = queued.popleft()
                        deliveries, failed = self.deliveries(entity, items)
                        if failed:
                            items, deliveries = self.refuse(entity, items, deliveries, failed)
                            if not items:
                                continue
                        window.append(_Sent(entity, items, deliveries, utcnow(), submit(self.write, entity, deliveries)))
                    elif upcoming is not None:
                        rows = upcoming.result()
                        upcoming = reader.submit(self.fetch, rows[-1]["id"], batch_size) if rows else None
                        by_entity: dict[str, list[dict]] = {}
                        for r in rows:
                            by_entity.setdefault(r["entity"], []).append(r)
                        queued.extend(by_entity.items())
                    else:
                        break
                if not window:
                    return self.result
                sent = window.popleft()
                try:
                    self.settle(sent, _answer(sent))
                except TransientDeliveryError as exc:
                    self.defer(sent, exc)
                    # Batches already on the wire are answered before the drain stops; the rest waits.
                    while window:
                        self.settle_late(window.popleft())
                    return self.result
        finally:
            for sent in window:  # an unexpected error: let the other sends finish before it is raised
                sent.answer.exception()

    def refuse(
        self, entity: str, items: list[dict], deliveries: list[Delivery], failed: dict[str, list[RecordProblem]]
    ) -> tuple[list[dict], list[Delivery]]:
        """Quarantine the records a transform failed on, never sent; returns the rest of the batch, to send."""
        whole = _Sent(entity, items, deliveries, utcnow(), _done(WriteResult))
        self.settle(whole.part(failed.__contains__), WriteResult(rejected=failed))
        rest = whole.part(lambda key: key not in failed)
        return rest.items, rest.deliveries

    def write(self, entity: str, deliveries: list[Delivery]) -> WriteResult:
        """The destination's ``write``; a disk's refusal is left to :func:`_answer`, a plugin's own error is said as its fault."""
        with connector_code(self.connector, f"writing a batch of {len(deliveries)} {entity} record(s)", keep=(OSError,)):
            return self.connector.write(entity, deliveries)

    def settle(self, sent: _Sent, outcome: WriteResult | DeliveryError) -> None:
        """Mark a batch's answer: delivered rows, and rejected rows (to quarantine with the reasons)."""
        if isinstance(outcome, DeliveryError):
            msg = redactor.redact(str(outcome))
            rejected = {r["idempotency_key"]: [{"path": "(record)", "rule": "delivery", "message": msg}] for r in sent.items}
        else:
            rejected = {k: [p.as_dict() for p in v] for k, v in outcome.rejected.items()}
        bad = [r for r in sent.items if r["idempotency_key"] in rejected]
        good = [r["id"] for r in sent.items if r["idempotency_key"] not in rejected]
        with self.store.engine.begin() as conn:
            outbox_store.mark_delivered(conn, good, now=sent.at)
            if bad:
                outbox_store.mark_failed(conn, [r["id"] for r in bad], error="rejected by destination")
                q = [
                    {
                        "run_id": self.run_id,
                        "connection": self.destination,
                        "stream": "(delivery)",
                        "entity": sent.entity,
                        "stage": "deliver",
                        "line": None,
                        # The stored version (the outbox row's), not what a transform made of it: a replay finds the row by it.
                        "raw": orjson.loads(r["raw"]),
                        "errors": rejected[r["idempotency_key"]],
                    }
                    for r in bad
                ]
                ids_q = quarantine_store.add_entries(conn, q, now=sent.at)
                self.result.quarantined += [{"id": i, "line": None, "stage": "deliver", "errors": e["errors"]} for i, e in zip(ids_q, q)]
        self.result.delivered += len(good)
        self.result.rejected += len(bad)

    def defer(self, sent: _Sent, exc: TransientDeliveryError) -> None:
        """The destination could not take the batch now: retry it after a backoff.

        What it took or refused before it failed (``exc.delivered``, ``exc.rejected``) is settled
        now, and only the rest waits for the retry.
        """
        known = set(exc.delivered) | set(exc.rejected)
        if known:
            self.settle(sent.part(lambda key: key in known), WriteResult(rejected=exc.rejected))
            sent = sent.part(lambda key: key not in known)
        msg = redactor.redact(str(exc))
        self.result.error = msg
        if not sent.items:
            return
        with self.store.engine.begin() as conn:
            outbox_store.mark_retry(
                conn,
                [r["id"] for r in sent.items],
                error=msg,
                next_attempt_at=sent.at + _backoff(sent.items[0]["attempts"], exc.retry_after),
            )
        self.result.deferred += len(sent.items)

    def settle_late(self, sent: _Sent) -> None:
        """A batch that was in flight when an earlier one failed: mark what it got, whatever that was."""
        try:
            self.settle(sent, _answer(sent))
        except TransientDeliveryError as exc:
            self.defer(sent, exc)
