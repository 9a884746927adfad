"""Secrets from the hub's environment: ``${NAME}`` in the config reads ``$NAME``.

Registered ``trylast`` so that a vault or key-store plugin is asked first.
"""

from __future__ import annotations

import os

from hub import hookimpl


@hookimpl(trylast=True)
def hub_resolve_secret(name: str) -> str | None:
    return os.environ.get(name)
