"""The access log: one line per HTTP request, with who sent it, when ``api.access_log`` is on.

A platform without a reverse proxy in front has no other record of which hub called, what it
asked and how it was answered ("amal's hub gets 429s since noon"). The caller is named by its
token's name or the web user's actor, never by the token itself; the audit log, not this,
is the record of what was written. Off by default: a proxy in front usually keeps these lines.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

__all__ = ["AccessLog", "note_caller"]

log = logging.getLogger("hub.api.access")


def note_caller(request, name: str) -> None:
    """Name who sent ``request`` (a token's name, ``web:<e-mail>``) for its access log line."""
    request.state.caller = name


class AccessLog:
    """ASGI middleware: after each HTTP request, log its method, path, status, time and caller.

    A plain ASGI wrapper, as :class:`hub.api.metrics.MeasureRequests` is, and for the same
    reason; ``enabled`` is asked per request, so a reloaded config turns it on or off.
    """

    def __init__(self, app, enabled: Callable[[], bool]) -> None:
        self.app = app
        self.enabled = enabled

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or not self.enabled():
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the server answers when the app raises before it starts a response

        async def send_and_note(message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
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
