"""Browser security headers on every page (not on the API, whose clients are programs)."""

from __future__ import annotations

from starlette.datastructures import MutableHeaders

__all__ = ["PageHeaders"]

_PAGE_HEADERS = (
    ("x-frame-options", "DENY"),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "same-origin"),
    ("content-security-policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'"),
)


class PageHeaders:
    """ASGI middleware: every answer outside ``/api/`` gets the browser security headers.

    Plain ASGI (it only adds headers to the response's start) rather than Starlette's
    BaseHTTPMiddleware, which would also pipe every API answer through an extra task.
    """

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/api/"):
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in _PAGE_HEADERS:
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)
