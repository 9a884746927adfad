"""A small HTTP server on 127.0.0.1 for connector tests: real sockets, no mocks of httpx internals.

Describe the partner's API as plain functions::

    server.route("GET", "/api/v2/assets/a1/data/", lambda req: Response(200, {"results": []}))

Every request is recorded (method, path, query, headers, body) so a test can assert what the
connector sent. The server runs in a thread and stops with the fixture.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

__all__ = ["Request", "Response", "TestServer"]


@dataclass
class Request:
    """What the connector sent."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self):
        """The body parsed as JSON."""
        return json.loads(self.body or b"null")

    def arg(self, name: str, default: str | None = None) -> str | None:
        """One query parameter."""
        return self.query.get(name, [default])[0]


@dataclass
class Response:
    """What the test server answers: a status, a JSON-able body (or bytes), headers."""

    status: int = 200
    body: object = None
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[[Request], Response]


class TestServer:
    """A threaded HTTP server with routes; use as a context manager or through the ``hub_server`` fixture."""

    __test__ = False  # not a test class, whatever pytest thinks of its name

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], Handler] = {}
        self.requests: list[Request] = []
        outer = self

        class _Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                req = Request(
                    self.command, parts.path, parse_qs(parts.query), dict(self.headers.items()), self.rfile.read(length) if length else b""
                )
                outer.requests.append(req)
                handler = outer.routes.get((self.command, parts.path))
                resp = handler(req) if handler else Response(404, {"detail": f"no route {self.command} {parts.path}"})
                body = resp.body if isinstance(resp.body, bytes) else json.dumps(resp.body, ensure_ascii=False).encode()
                self.send_response(resp.status)
                headers = {"Content-Type": "application/json", **resp.headers}
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting (a timeout test): nothing to answer

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

            def log_message(self, *args) -> None:  # keep test output clean
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:54321``."""
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def route(self, method: str, path: str, handler: Handler) -> None:
        """Answer ``method path`` with ``handler(request)``."""
        self.routes[(method.upper(), path)] = handler

    def start(self) -> TestServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> TestServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
