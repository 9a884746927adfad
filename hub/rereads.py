"""Reading a whole source again every so often: how an incremental source's deletions and silent edits are met.

A form server read incrementally (by submission time) never shows what was deleted, and
Kobo not even what was edited. A connector that reads everything again every few hours, with
the time that reading began kept in its cursor, meets every submission the source still has
in that run: the edits arrive, and a stream with ``report_deleted: true`` can name the
records whose submissions are gone (hub.pipeline.gone), because the run knows it read whole.
"""

from __future__ import annotations

from datetime import datetime, timedelta

__all__ = ["began_whole_reading", "reread_due"]


def reread_due(reread_at: str | None, hours: float, now: datetime) -> bool:
    """Whether a run at ``now`` reads everything again: ``hours`` since the last such reading began (0: never)."""
    if not hours:
        return False
    return reread_at is None or now - datetime.fromisoformat(reread_at) >= timedelta(hours=hours)


def began_whole_reading(before: str | None, after: str | None) -> bool:
    """Whether the run that moved the reading's start from ``before`` to ``after`` began one and so read whole.

    A run that carried on with a reading an earlier, stopped run began (the same start) met
    only the rest; an incremental run leaves the start as it was.
    """
    return after is not None and after != before
