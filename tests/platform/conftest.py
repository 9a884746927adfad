"""Two real hubs: a platform (``hub serve``, its own store) and an association pushing to it.

Both are separate processes with separate stores, talking real HTTP on 127.0.0.1. On the
PostgreSQL leg each hub gets a database of its own.
"""

from __future__ import annotations

import json
import os
import signal
import threading
from pathlib import Path

import httpx
import pytest

from tests.conftest import DONATION_HEADER, DONATION_STREAMS, ON_POSTGRES, HubFolder, donation_rows, served_port, wait_for

PLATFORM_CONFIG = """\
store: sqlite:///hub.db
iati:
  registration_agency: ZZ-REG
api:
  max_body_bytes: 262144
  max_batch_records: 200
  public_directory: true
"""  # api: last, so that a test may add to it (rate_limit)

ASSOCIATION_CONFIG = (
    """\
store: sqlite:///hub.db
connections:
  amal:
    connector: csv
    settings: {{path: donations.csv}}
"""
    + DONATION_STREAMS
    + """\
    destinations: [platform]
  platform:
    connector: wasl
    settings:
      url: {url}
      token: ${{PLATFORM_TOKEN}}
      batch_size: {batch_size}
      timeout: {timeout}
      retries: {retries}
      backoff: 0.05
      max_backoff: 0.5
{extra}"""
)


class Platform:
    """The platform hub: ``hub serve`` in its own folder, started, killed and restarted at will."""

    def __init__(self, folder: HubFolder) -> None:
        self.folder = folder
        self.port: int | None = None  # picked by the kernel at the first start, kept for restarts
        self.proc = None

    @property
    def url(self) -> str:
        assert self.port is not None, "start the platform first: its port is picked as it starts"
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Platform:
        self.proc = self.folder.popen("serve", "--port", str(self.port or 0))
        self.port = served_port(self.proc)
        ok = wait_for(self._ready, timeout=60)
        assert ok, f"the platform did not become ready: {self.proc.stderr.read()}"
        return self

    def _ready(self) -> bool:
        assert self.proc.poll() is None, f"the platform exited: {self.proc.stderr.read()}"
        try:
            return httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    def kill(self) -> None:
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=60)

    def token(self, name: str, association: str | None = None, *, write: bool = True, read: bool = True) -> str:
        scope = ["--association", association] if association else ["--platform"]
        rights = ["--write" if write else "--no-write", "--read" if read else "--no-read"]
        r = self.folder.hub("tokens", "create", name, *scope, *rights, "--json")
        assert r.code == 0, r.err
        return json.loads(r.out)["token"]

    def count(self, entity: str = "donation") -> int:
        return self.folder.sql("select count(*) from records where entity = ?", (entity,))[0][0]

    def get(self, path: str, token: str, **params) -> httpx.Response:
        return httpx.get(f"{self.url}{path}", params=params, headers={"Authorization": f"Bearer {token}"}, timeout=10)


def _sub_folder(tmp_path: Path, name: str, request) -> HubFolder:
    path = tmp_path / name
    path.mkdir()
    if ON_POSTGRES:
        databases = request.getfixturevalue("pg_databases")
        url = databases.take()
        request.addfinalizer(lambda: databases.drop(url))
        return HubFolder(path, url)
    return HubFolder(path)


@pytest.fixture
def platform(tmp_path, request):
    folder = _sub_folder(tmp_path, "platform", request)
    folder.write("hub.yaml", PLATFORM_CONFIG)
    p = Platform(folder)
    yield p
    p.stop()


class Association(HubFolder):
    """An association's hub whose ``amal`` CSV connection pushes to the platform."""

    def configure(
        self, url: str, token: str, *, rows: int = 10, batch_size: int = 500, timeout: float = 10, retries: int = 3, extra: str = ""
    ):
        self.write("hub.yaml", ASSOCIATION_CONFIG.format(url=url, batch_size=batch_size, timeout=timeout, retries=retries, extra=extra))
        self.write_csv("donations.csv", DONATION_HEADER, donation_rows(rows), encoding="utf-8-sig")
        self.env["PLATFORM_TOKEN"] = token
        return self

    def outbox(self) -> dict[str, int]:
        return dict(self.sql("select status, count(*) from outbox group by status"))


@pytest.fixture
def association(tmp_path, request):
    folder = _sub_folder(tmp_path, "amal", request)
    return Association(folder.path, folder.store_url)


class Proxy:
    """An HTTP proxy in front of the platform that can drop answers: the lost acknowledgement.

    ``hold_answers`` makes it forward each batch (a POST), let the platform commit it, then
    keep the answer from the caller (it waits until released), as a network cut after the
    server's commit would.
    """

    def __init__(self, target: str) -> None:
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.target = target
        self.hold_answers = False
        self.forwarded = threading.Event()
        self.release = threading.Event()
        self.answers: list[tuple[int, dict]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _do(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length", "connection")}
                resp = httpx.request(self.command, outer.target + self.path, content=body, headers=headers, timeout=30)
                outer.answers.append((resp.status_code, dict(resp.headers)))
                if outer.hold_answers and self.command == "POST":
                    outer.forwarded.set()
                    outer.release.wait(60)
                    return  # the caller never hears back
                self.send_response(resp.status_code)
                for k, v in resp.headers.items():
                    if k.lower() not in ("content-length", "transfer-encoding", "connection", "content-encoding"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(resp.content)))
                self.end_headers()
                self.wfile.write(resp.content)

            do_GET = do_POST = _do

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


class ApiThread:
    """A hub's API served by uvicorn from a thread of the test process: real HTTP on 127.0.0.1."""

    def __init__(self, hub) -> None:
        import uvicorn

        from hub.api import create_app

        self.hub = hub
        # Port 0: the kernel picks the port as the server binds it, so nothing can take it first.
        self.server = uvicorn.Server(uvicorn.Config(create_app(hub), host="127.0.0.1", port=0, log_level="error", lifespan="off"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        assert wait_for(lambda: self.server.started, timeout=30)
        self.port = self.server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


@pytest.fixture
def api(folder, monkeypatch):
    """A platform hub in this process, its API on a free port."""
    from hub.app import Hub

    folder.write("hub.yaml", PLATFORM_CONFIG)
    if folder.store_url:
        monkeypatch.setenv("HUB_STORE", folder.store_url)
    hub = Hub.from_path(folder.path / "hub.yaml")
    served = ApiThread(hub)
    yield served
    served.stop()
    hub.close()


@pytest.fixture
def api_schema(api):
    import schemathesis

    return schemathesis.openapi.from_url(f"{api.url}/openapi.json")


@pytest.fixture
def api_auth(api):
    from hub.services import tokens

    t = tokens.create(api.hub, "fuzz", association="amal", platform=False, read=True, write=True)
    return {"Authorization": f"Bearer {t['token']}"}
