"""The access log: one line per HTTP request, with who sent it, when ``api.access_log`` is on.

A platform without a reverse proxy in front has no other record of which hub called, what it
asked and how it was answered ("amal's hub gets 429s since noon"). The caller is named by its
token's name or the web user's actor, never by the token itself; the audit log, not this,
is the record of what was written. Off by default: a proxy in front usually keeps these lines.
:class:`hub.api.metrics.MeasureRequests`, which times every request already, writes them.
"""

from __future__ import annotations

import logging
import time

__all__ = ["log_request", "note_caller"]

log = logging.getLogger("hub.api.access")


def note_caller(request, name: str) -> None:
    """Name who sent ``request`` (a token's name, ``web:<e-mail>``) for its access log line."""
    request.state.caller = name


def log_request(scope, status: int, started: float) -> None:
    """The access log line of one finished request (``started``: its ``time.perf_counter()``)."""
    query = scope.get("query_string", b"").decode("latin-1")
    path = scope["path"] + (f"?{query}" if query else "")
    client = (scope.get("client") or ("-",))[0]
    caller = (scope.get("state") or {}).get("caller", "-")
    ms = round((time.perf_counter() - started) * 1000, 1)
    log.info(
        '%s "%s %s" %s %.1f ms %s',
        client,
        scope["method"],
        path,
        status,
        ms,
        caller,
        extra={"client": client, "method": scope["method"], "path": path, "status": status, "duration_ms": ms, "caller": caller},
    )
