"""Whose records an API token or a web account covers: one association's, or the platform's.

Both are stored as an association id, NULL meaning the platform. An empty or padded id would
be neither: it matches no association's records, yet reads as "the platform" wherever a
falsy id is taken for NULL. So the id must be one the common schema accepts as an association
id, and exactly one of the two scopes must be asked for.
"""

from __future__ import annotations

from functools import cache

import jsonschema_rs

from hub.errors import ConfigError
from hub.schema import load_schema

__all__ = ["association_scope"]


@cache
def _identifier() -> tuple[jsonschema_rs.Validator, str]:
    """The common schema's own identifier definition, compiled: one rule for ids everywhere."""
    definition = load_schema("association")["$defs"]["identifier"]
    return jsonschema_rs.validator_for(definition), definition["x-expected"]


def association_scope(association: str | None, *, platform: bool) -> str | None:
    """The association id to store (None for the platform), or ConfigError naming the problem."""
    if platform == (association is not None):
        raise ConfigError("give one association (--association ID) or the platform (--platform), not both or neither")
    if association is None:
        return None
    valid, expected = _identifier()
    if not valid.is_valid(association):
        raise ConfigError(f"--association {association!r} is not an association id: {expected}")
    return association
