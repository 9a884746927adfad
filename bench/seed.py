"""Records put straight into a hub's store for a benchmark, as validated records are stored.

The benchmarks that read (``report.py``, ``browse.py``) need a large store before they time
anything; this writes it through the store's own batch upsert, in batches of 5,000, without
the pipeline or the API in front of it.
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import islice

from hub.app import Hub
from hub.pipeline.prepare import canonical
from hub.store.records import Prepared, upsert_batch
from hub.store.types import utcnow

__all__ = ["store"]


def store(hub: Hub, entity: str, records: Iterable[dict]) -> None:
    """Store ``records`` of ``entity`` (each with ``id`` and ``association_id``), keyed as the hub keys them."""
    now = utcnow()
    records = iter(records)
    while batch := list(islice(records, 5000)):
        items = []
        for r in batch:
            data, digest = canonical(r)
            items.append(Prepared(f"{r['association_id']}|{r['id']}", data, digest, r["association_id"]))
        with hub.store.engine.begin() as conn:
            upsert_batch(conn, entity, items, connection="bench", run_id=None, now=now)
