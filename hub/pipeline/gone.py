"""Records a source no longer has: named by the run that read the whole source, never deleted.

A row deleted from an association's register (a gift entered twice, a distribution that did
not happen) leaves its record in the hub, and on the platform the hub delivered it to, where
donors go on seeing it. Nothing in a file says a row was removed, so the hub compares: a run
that read every row of its source (``Stream.read_whole``) knows the keys it met, and a record
the connection stored before that it did not meet is no longer there.

Only a stream whose config says ``report_deleted: true`` is compared: a file that holds a
period (this month's export, a bank statement) replaces the last one, and every record of
the months before would be named, each run. The run says so in its flags, naming the first
keys, every run until the source and the store agree again. It does not delete: a record
the platform has published is withdrawn by saying so (a donation kept in the sheet with
``status: cancelled``), not by vanishing, and a file cut short by mistake must not take the
records it lost with it.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from hub.pipeline.prepare import Rejected
from hub.store import Store
from hub.store.models import records_table
from hub.store.records import Prepared

__all__ = ["KeysMet"]

_SHOWN = 5  # keys named in the flag; the rest are counted


class KeysMet:
    """The keys one read met: of the records it prepared, and of quarantined rows whose fields gave one."""

    def __init__(self) -> None:
        self.keys: set[str] = set()
        self.keyless = 0  # quarantined rows without a key: each may be a record the store holds

    def add(self, prepared: Sequence[Prepared], rejected: Sequence[Rejected]) -> None:
        """Note a committed batch's keys."""
        self.keys.update([p[0] for p in prepared])
        for r in rejected:
            if r.key is None:
                self.keyless += 1
            else:
                self.keys.add(r.key)

    def gone_flag(self, store: Store, *, connection: str, stream: str, entity: str) -> str | None:
        """The flag naming the records of ``connection`` and ``entity`` this whole read did not meet; None when none."""
        r = records_table
        with store.engine.connect() as conn:
            stored = conn.execute(select(r.c.key).where(r.c.entity == entity, r.c.connection == connection)).scalars()
            gone = sorted(k for k in stored if k not in self.keys)
        return _said(stream, gone, self.keyless) if gone else None


def _said(stream: str, gone: list[str], keyless: int) -> str:
    shown = ", ".join(gone[:_SHOWN]) + (f" and {len(gone) - _SHOWN} more" if len(gone) > _SHOWN else "")
    maybe = f"; {keyless} row(s) of this read were quarantined without a key, and may be among them" if keyless else ""
    return (
        f"{stream}: {len(gone)} record(s) stored before are no longer in the source: {shown}{maybe}. The hub and its "
        "destinations still hold them: to withdraw one, keep its row with a status such as cancelled"
    )
