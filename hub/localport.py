"""Local ports: the line ``hub serve`` announces its address with, and a free port.

A ``hub serve`` started beside the hub (the demo's platform, the tests') is given port 0: the
system picks a free port as the server binds it, so no other process can take the port in
between, and the server names it in its log (``ANNOUNCED``); ``announced_url`` reads it back.
``free_port`` is for servers that cannot be started on port 0 (the tests' PostgreSQL and
Redis, the benchmarks'): the system picks the port, and another process could take it before
the server binds it.
"""

from __future__ import annotations

import re
import socket

__all__ = ["ANNOUNCED", "announced_url", "free_port"]

# The log line (a %-format for the host and port) that says the API is listening.
ANNOUNCED = "hub serve: API on http://%s:%s (OpenAPI at /openapi.json)"
_ANNOUNCED = re.compile(r"hub serve: API on (http://[^\s:]+:\d+) ")


def announced_url(log: str) -> str | None:
    """The API's address a ``hub serve`` log announces (the first one), or None before it has bound."""
    found = _ANNOUNCED.search(log)
    return found[1] if found else None


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
