"""Draining the outbox into a destination connector, batch by batch.

A batch the destination takes is marked delivered; records it rejects go to quarantine with
its reasons (never a silent drop); a transient failure leaves the rows pending with a
backoff, and the drain stops for this destination until the next run.
"""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta

from hub.errors import DeliveryError, TransientDeliveryError
from hub.sdk import Connector, Delivery
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


def _backoff(attempts: int, retry_after: float | None) -> timedelta:
    if retry_after is not None:
        return timedelta(seconds=max(0.0, retry_after))
    base = min(3600.0, 5.0 * (2 ** min(attempts, 10)))
    return timedelta(seconds=base * (0.5 + random.random() / 2))  # full jitter, half floor


def drain(store: Store, destination: str, connector: Connector, *, run_id: int | None, batch_size: int = 500) -> DrainResult:
    """Deliver every due pending row of ``destination``.

    The next batch is read from the store while the destination takes the current one (a
    thread: the write waits on the network), so a remote destination is never kept waiting
    for the outbox. Batches are still delivered and marked strictly in outbox order.
    """
    with ThreadPoolExecutor(1, thread_name_prefix="outbox-read") as reader:
        return _drain(store, destination, connector, run_id, batch_size, reader)


def _drain(store: Store, destination: str, connector: Connector, run_id: int | None, batch_size: int, reader) -> DrainResult:
    result = DrainResult()

    def fetch(after_id: int) -> list[dict]:
        with store.engine.connect() as conn:
            return outbox_store.pending(conn, destination, now=utcnow(), limit=batch_size, after_id=after_id)

    upcoming = reader.submit(fetch, 0)
    while True:
        now = utcnow()
        rows = upcoming.result()
        if not rows:
            return result
        upcoming = reader.submit(fetch, rows[-1]["id"])
        by_entity: dict[str, list[dict]] = {}
        for r in rows:
            by_entity.setdefault(r["entity"], []).append(r)
        for entity, items in by_entity.items():
            deliveries = [Delivery(r["idempotency_key"], entity, r["key"], r["version"], r["record"], r["raw"]) for r in items]
            ids = [r["id"] for r in items]
            try:
                outcome = connector.write(entity, deliveries)
            except TransientDeliveryError as exc:
                msg = redactor.redact(str(exc))
                with store.engine.begin() as conn:
                    outbox_store.mark_retry(conn, ids, error=msg, next_attempt_at=now + _backoff(items[0]["attempts"], exc.retry_after))
                result.deferred += len(ids)
                result.error = msg
                return result
            except DeliveryError as exc:
                msg = redactor.redact(str(exc))
                rejected = {r["idempotency_key"]: [{"path": "(record)", "rule": "delivery", "message": msg}] for r in items}
            else:
                rejected = {k: [p.as_dict() for p in v] for k, v in outcome.rejected.items()}
            bad = [r for r in items if r["idempotency_key"] in rejected]
            good = [r["id"] for r in items if r["idempotency_key"] not in rejected]
            with store.engine.begin() as conn:
                outbox_store.mark_delivered(conn, good, now=now)
                if bad:
                    outbox_store.mark_failed(conn, [r["id"] for r in bad], error="rejected by destination")
                    q = [
                        {
                            "run_id": run_id,
                            "connection": destination,
                            "stream": "(delivery)",
                            "entity": entity,
                            "stage": "deliver",
                            "line": None,
                            "raw": r["record"],
                            "errors": rejected[r["idempotency_key"]],
                        }
                        for r in bad
                    ]
                    ids_q = quarantine_store.add_entries(conn, q, now=now)
                    result.quarantined += [{"id": i, "line": None, "stage": "deliver", "errors": e["errors"]} for i, e in zip(ids_q, q)]
            result.delivered += len(good)
            result.rejected += len(bad)
