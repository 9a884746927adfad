"""A destination whose store is not the one this hub delivered to gets every record again.

The outbox marks a record delivered once the destination says it stored it, and never sends
that version again. A platform restored from last week's backup has lost what came since,
while the outboxes of the hubs that pushed it are sure it arrived: nothing would ever send
it again, and nobody would be told. So before each drain, a destination that can say which
store it keeps (``Connector.store_epoch``: another Wasl hub's epoch, hub.store.epochs) is
asked; an answer other than the one it gave last queues every record of every connection
that delivers to it again (hub.pipeline.backfill.resend), and this very drain sends them.
What the destination still holds is answered unchanged, so the cost is the traffic.
"""

from __future__ import annotations

import logging

from hub.app import Hub
from hub.errors import TransientDeliveryError
from hub.pipeline.backfill import resend
from hub.sdk import Connector
from hub.store import epochs

__all__ = ["notice_replaced_store"]

log = logging.getLogger(__name__)


def notice_replaced_store(hub: Hub, destination: str, connector: Connector) -> list[str]:
    """Ask ``destination`` which store it keeps; if not the one it named last, queue everything for it. A sentence if so."""
    try:
        epoch = connector.store_epoch()
    except TransientDeliveryError as exc:
        log.info("%s: not asked which store it keeps (%s); the drain tries it as it is", destination, exc)
        return []
    if epoch is None:
        return []
    with hub.store.engine.connect() as conn:
        known = epochs.last_seen(conn, destination)
    said = []
    if known is not None and known != epoch:
        why = {"why": "the destination's store changed (restored from a backup or replaced)", "store_epoch": {"was": known, "now": epoch}}
        queued = 0
        for name, cfg in hub.config.connections.items():
            if destination in cfg.destinations:
                counts = resend(hub, name, destination, why=why, actor="hub")
                queued += counts["again"] + counts["added"]
        said.append(
            f"{destination}: its store is not the one this hub delivered to (restored from a backup or replaced): "
            f"{queued} record(s) queued for it again"
        )
        log.warning("%s", said[-1])
    if known != epoch:
        # After the resend: a crash between the two sends it all again, never nothing.
        with hub.store.writing(f"outbox:{destination}") as conn:
            epochs.remember(conn, destination, epoch)
    return said
