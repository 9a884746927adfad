"""A trial of a stream's first rows through its mapping and the schema, storing nothing.

``hub check`` runs it so that the person writing a mapping sees, before any run, what the
first rows would become: how many would be stored and why the others would be quarantined
(a decimal comma in an amount column, a date in another format, a channel the map lacks).
Only streams that declare ``may_sample`` are tried: files, SQL queries and the HTTP sources
(rest, kobo, wasl), whose reading changes nothing at the source, where a drop folder moves
the files it cannot read. A query is tried on any rows the database gives first, without the
cursor's ORDER BY, so a large table is not sorted for a look. An API is read page by page
until the rows are tried, within its rate limit.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hub.connector_faults import stream_rows
from hub.pipeline.prepare import Preparer
from hub.pipeline.reader import prepare_rows
from hub.sdk import Cursor, Stream

__all__ = ["SAMPLE_ROWS", "Trial", "try_rows"]

SAMPLE_ROWS = 500


@dataclass
class Trial:
    """What the first rows would become: how many were tried and stored, the lines skipped, each refusal's reasons."""

    tried: int = 0
    stored: int = 0
    refused: list[dict] = field(default_factory=list)  # {"line": N, "errors": [{"path", "rule", "message"}]}
    skipped: list[int | None] = field(default_factory=list)  # the lines the skip rules name: whoever writes them sees what they catch
    settled: list[int | None] = field(default_factory=list)  # invalid rows a person dismissed or corrected in quarantine before

    def as_dict(self) -> dict:
        return {
            "tried": self.tried,
            "would_store": self.stored,
            "would_skip": len(self.skipped),
            "skipped_lines": self.skipped,
            "would_pass_over": len(self.settled),
            "passed_over_lines": self.settled,
            "would_quarantine": self.refused,
        }


def try_rows(
    stream: Stream,
    preparer: Preparer,
    rows: int = SAMPLE_ROWS,
    settled: Callable[[list[Any]], list[bool]] = lambda raws: [False] * len(raws),
) -> Trial | None:
    """Prepare the first ``rows`` rows of a stream, as a run's first batch would; None for a stream that may not be sampled.

    ``settled`` says, of the raw rows that fail, which a run would pass over
    (hub.store.quarantine.settled): they are counted apart, not as quarantined.
    """
    if not stream.may_sample:
        return None
    sample = stream_rows(stream, f"reading the first rows of stream {stream.name!r}", lambda: stream.sample(rows))
    first_batches = prepare_rows(sample, Cursor(None), preparer, rows)
    try:
        first = next(first_batches)
    finally:
        first_batches.close()
    passed_over = settled([r.raw for r in first.rejected]) if first.rejected else []
    refused = [{"line": r.line, "errors": [p.as_dict() for p in r.problems]} for r, done in zip(first.rejected, passed_over) if not done]
    return Trial(first.read, len(first.prepared), refused, first.skipped, [r.line for r, done in zip(first.rejected, passed_over) if done])
