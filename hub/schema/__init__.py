"""The common schema: one versioned JSON Schema (Draft 2020-12) per entity.

Each ``<entity>.json`` file names the standard every field mirrors. Shared definitions live
in ``_common.json`` and are copied into each entity's ``$defs`` on load, so what
``hub schema show`` prints is self-contained and can be handed to any validator.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from importlib import resources

from hub.errors import NotFoundError

__all__ = ["ENTITIES", "entity_key", "load_schema", "sector_crosswalk"]

ENTITIES: tuple[str, ...] = (
    "association",
    "program",
    "donor",
    "donation",
    "distribution",
    "bank_transaction",
)


def _read(name: str) -> dict:
    return json.loads(resources.files(__package__).joinpath(name).read_text(encoding="utf-8"))


@cache
def _load(entity: str) -> dict:
    if entity not in ENTITIES:
        raise NotFoundError(f"unknown entity {entity!r}", hint=f"known entities: {', '.join(ENTITIES)}")
    schema = _read(f"{entity}.json")
    schema["$defs"] = {**_read("_common.json")["$defs"], **schema.get("$defs", {})}
    return schema


def load_schema(entity: str) -> dict:
    """The full, self-contained schema of ``entity`` (a copy: callers may change it)."""
    return copy.deepcopy(_load(entity))


def entity_key(entity: str) -> tuple[str, ...]:
    """The fields that make an entity's natural key (``x-key`` in its schema)."""
    return tuple(_load(entity)["x-key"])


@cache
def sector_crosswalk() -> dict[str, dict]:
    """Platform sector code -> IASC cluster, DAC code and names in Arabic and English."""
    return _read("sectors.json")["sectors"]
