"""Committing one batch: records, history, outbox, quarantine, cursor and run counts together.

One transaction per batch is the whole crash-safety story: a batch is in the store with its
cursor, or neither is, so a run killed at any point resumes from the last batch it committed
and stores nothing twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from hub.pipeline.prepare import Rejected
from hub.store import Store
from hub.store import outbox as outbox_store
from hub.store import quarantine as quarantine_store
from hub.store import runs as run_store
from hub.store import state as state_store
from hub.store.records import Prepared, upsert_batch
from hub.store.types import utcnow

__all__ = ["BatchResult", "commit_batch"]


@dataclass
class BatchResult:
    """Counts of one batch, and the quarantine entries it created (for the notifier hook)."""

    counts: dict[str, int]
    quarantined: list[dict[str, Any]]
    repeated: list[str] = field(default_factory=list)  # keys this run wrote again with other content
    settled: int = 0  # rejected rows a person had dismissed or corrected before: passed over, not quarantined again


def commit_batch(
    store: Store,
    *,
    run_id: int | None,
    connection: str,
    stream: str,
    entity: str,
    read: int,
    prepared: Sequence[Prepared],
    rejected: Sequence[Rejected],
    destinations: Sequence[str],
    cursor: Any,
    save_cursor: bool = True,
    skipped: int = 0,
) -> BatchResult:
    """Write a prepared batch in one transaction; returns what it did."""
    now = utcnow()
    q_rows = [
        {
            "run_id": run_id,
            "connection": connection,
            "stream": stream,
            "entity": entity,
            "stage": r.stage,
            "line": r.line,
            "raw": r.raw,
            "errors": [p.as_dict() for p in r.problems],
        }
        for r in rejected
    ]
    with store.writing(f"records:{entity}") as conn:  # another run or API request may carry the same keys
        up = upsert_batch(conn, entity, list(prepared), connection=connection, run_id=run_id, now=now)
        if destinations and up.versions:
            outbox_store.enqueue(conn, list(destinations), entity, up.versions, run_id=run_id, now=now)
        ids = quarantine_store.add_entries(conn, q_rows, now=now) if q_rows else []
        settled = ids.count(None)
        if save_cursor:
            state_store.save_cursor(conn, connection, stream, cursor, run_id=run_id, now=now)
        counts = {
            "read": read,
            "valid": len(prepared),
            "inserted": up.inserted,
            "updated": up.updated,
            "unchanged": up.unchanged,
            "quarantined": len(rejected) - settled,
            "skipped": skipped + settled,
        }
        if run_id is not None:
            run_store.add_counts(conn, run_id, counts)
    entries = [{"id": i, "line": r["line"], "stage": r["stage"], "errors": r["errors"]} for i, r in zip(ids, q_rows) if i is not None]
    return BatchResult(counts, entries, up.repeated, settled)
