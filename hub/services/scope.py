"""Whose records an API token or a web account covers: one association's, or the platform's.

Both are stored as an association id, NULL meaning the platform. An empty or padded id would
be neither: it matches no association's records, yet reads as "the platform" wherever a
falsy id is taken for NULL. So the id must be one the common schema accepts as an association
id, and exactly one of the two scopes must be asked for.
"""

from __future__ import annotations

import re

from hub.errors import ConfigError

__all__ = ["association_scope"]

# The common schema's identifier ($defs/identifier): 1-120 characters, no space at either end.
_IDENTIFIER = re.compile(r"\S(.*\S)?", re.DOTALL)
_MAX = 120


def association_scope(association: str | None, *, platform: bool) -> str | None:
    """The association id to store (None for the platform), or ConfigError naming the problem."""
    if platform == (association is not None):
        raise ConfigError("give one association (--association ID) or the platform (--platform), not both or neither")
    if association is None:
        return None
    if not _IDENTIFIER.fullmatch(association) or len(association) > _MAX:
        raise ConfigError(f"--association {association!r} is not an association id: 1 to {_MAX} characters, no space at either end")
    return association
