"""A free TCP port on 127.0.0.1, for servers the hub starts beside itself.

The demo starts its platform hub on one; the tests and benchmarks start platforms, bare
endpoints, PostgreSQL and Redis on them. The system picks the port (bind to port 0); another
process could take it before the server binds, which on one machine is rare enough.
"""

from __future__ import annotations

import socket

__all__ = ["free_port"]


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
