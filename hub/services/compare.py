"""What a destination holds of a connection's records, compared record by record with the store.

The outbox says what was delivered, not what the destination still has. The platform restored
from last week's backup, or a record removed there by hand, leaves the outbox certain that
everything arrived. ``hub resend`` sends everything again; ``hub compare`` first asks the
destination what it holds (``Connector.held``: the wasl connector pages through the other
hub's records with the token it pushes with) and names what it lacks, what it holds at an
older version, and, with ``--resend``, queues exactly those.

Keys are compared as the destination makes them, from the entity's own key fields: a stream
that keys its records otherwise still finds them there.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import orjson
from sqlalchemy import select

from hub.app import Hub
from hub.errors import ConfigError
from hub.pipeline.backfill import check_destination
from hub.pipeline.backfill import resend as queue_again
from hub.pipeline.prepare import natural_key
from hub.schema import entity_key
from hub.store.models import records_table

__all__ = ["Comparison", "compare"]

_r = records_table
_SHOWN = 10  # keys named per kind of difference; the counts cover the rest


@dataclass
class Comparison:
    """Per entity: records here, there, and the differences; the record ids to send again."""

    connection: str
    destination: str
    entities: dict[str, dict[str, int]] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)  # the first keys the destination lacks
    older: list[str] = field(default_factory=list)  # the first keys it holds at an older version
    ids: list[int] = field(default_factory=list)  # records (rows here) to send again
    queued: dict[str, int] | None = None  # what --resend queued

    @property
    def agree(self) -> bool:
        return not self.ids

    def as_dict(self) -> dict:
        return {
            "connection": self.connection,
            "destination": self.destination,
            "agree": self.agree,
            "entities": self.entities,
            "missing": self.missing,
            "older": self.older,
            **({"queued": self.queued} if self.queued is not None else {}),
        }


def compare(hub: Hub, connection: str, destination: str, *, resend: bool = False, actor: str = "cli") -> Comparison:
    """Compare what ``destination`` holds with what ``connection`` stored; with ``resend``, queue the difference."""
    check_destination(hub, connection, destination)
    taken = hub.config.connection(destination).entities
    connector = hub.open_connector(destination)
    result = Comparison(connection, destination)
    try:
        with hub.store.engine.connect() as conn:
            entities = conn.execute(select(_r.c.entity).where(_r.c.connection == connection).distinct()).scalars().all()
        for entity in sorted(e for e in entities if taken is None or e in taken):
            held = connector.held(entity)
            if held is None:
                raise ConfigError(
                    f"{destination} ({connector.name}) cannot say what it holds",
                    hint=f"`hub resend {connection} --to {destination}` sends everything again",
                )
            there = dict(held)
            result.entities[entity] = _compare_entity(hub, connection, entity, there, result)
    finally:
        connector.close()
    if resend and result.ids:
        why = {"compared": {e: {k: c[k] for k in ("missing", "older")} for e, c in result.entities.items()}}
        result.queued = queue_again(hub, connection, destination, ids=result.ids, why=why, actor=actor)
    return result


def _compare_entity(hub: Hub, connection: str, entity: str, there: dict[str, int | None], result: Comparison) -> dict[str, int]:
    fields = entity_key(entity)
    counts = {"here": 0, "there": len(there), "missing": 0, "older": 0, "newer_there": 0, "only_there": 0}
    met = set()
    # The store's key is the destination's unless a stream of the connection keys this entity
    # by other fields: only then is each record read to make the entity's own key of it.
    streams = [s for s in hub.config.connection(connection).streams if s.entity == entity]
    rekey = any(s.key and tuple(s.key) != fields for s in streams)
    column = _r.c.data if rekey else _r.c.key
    query = select(_r.c.id, _r.c.version, column).where(_r.c.connection == connection, _r.c.entity == entity).order_by(_r.c.id)
    with hub.store.engine.connect() as conn:
        for row_id, version, value in conn.execute(query):
            counts["here"] += 1
            key = natural_key(orjson.loads(value), fields) if rekey else value
            met.add(key)
            if key not in there:
                counts["missing"] += 1
                kind = result.missing
            elif (there[key] or 0) < version:
                counts["older"] += 1
                kind = result.older
            else:
                counts["newer_there"] += there[key] > version
                continue
            result.ids.append(row_id)
            if len(kind) < _SHOWN:
                kind.append(key)
    counts["only_there"] = len(there.keys() - met)
    return counts
