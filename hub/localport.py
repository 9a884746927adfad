"""A free TCP port on 127.0.0.1, for servers that cannot be started on port 0.

The system picks the port (bind to port 0), and another process could take it before the
server binds it. A ``hub serve`` started beside the hub (the demo's platform, the tests') is
given port 0 instead and names the port it bound in its log; this is for the rest: the
tests' PostgreSQL and Redis, and the benchmarks' servers.
"""

from __future__ import annotations

import socket

__all__ = ["free_port"]


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
