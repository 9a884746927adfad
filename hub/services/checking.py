"""Checking a connection: can it reach its system, does its mapping fit, what would its first rows become.

``hub check`` and the web admin's Check button ask the same: the connector's own check, the
mapping's columns against the source's, and for a source whose reading changes nothing (a
file, a query, an API) the first rows put through the mapping and the schema, storing
nothing (hub.pipeline.trial).
"""

from __future__ import annotations

from collections import Counter
from functools import partial
from typing import Any

from hub.app import Hub
from hub.connector_faults import connector_code, streams_of
from hub.pipeline.run import build_preparer, check_columns, destination_transforms, reports_deleted
from hub.pipeline.trial import try_rows
from hub.store import Store
from hub.store import quarantine as quarantine_store

__all__ = ["check_connection"]


def _settled(hub: Hub, connection: str, stream: str, raws: list) -> list[bool]:
    """Which failing rows a person has settled; a check creates no store to ask (a hub that never ran has settled none)."""
    if "store" not in vars(hub) and not Store.exists(hub.config.store_url):
        return [False] * len(raws)
    with hub.store.engine.connect() as conn:
        return quarantine_store.settled(conn, connection, stream, raws)


def check_connection(hub: Hub, connection: str) -> dict[str, Any]:
    """What the check found; the connector's CheckFailed, or a ConfigError/InputError, when it cannot reach or read."""
    sends_through = destination_transforms(hub, connection)
    connector = hub.open_connector(connection)
    try:
        with connector_code(connector, "checking its system"):
            detail = connector.check()
        streams = []
        found = streams_of(connector)
        entities = Counter(s.entity for s in found)
        for stream in found:
            reports_deleted(connection, stream, alone=entities[stream.entity] == 1)
            prep = build_preparer(hub, connection, stream)
            check_columns(connection, stream, prep)
            trial = try_rows(stream, prep, settled=partial(_settled, hub, connection, stream.name))
            streams.append(
                {
                    "stream": stream.name,
                    "entity": stream.entity,
                    "key": list(stream.key),
                    "cursor_field": stream.cursor_field,
                    **({"trial": trial.as_dict()} if trial is not None else {}),
                }
            )
    finally:
        connector.close()
    answer = {"connection": connection, "connector": connector.name, "ok": True, "detail": detail, "streams": streams}
    if sends_through:
        answer["transforms"] = [name for name, _fn in sends_through]
    return answer
