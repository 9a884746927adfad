"""``hub new connector``: the package installs into a fresh environment, registers, and passes the kit."""

from __future__ import annotations

import json
import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.kit.fresh_env import FreshEnv


@pytest.fixture(scope="module")
def scaffolded(tmp_path_factory):
    root = tmp_path_factory.mktemp("scaffold")
    env = FreshEnv(root / "venv")
    r = env.run("hub", "new", "connector", "crm_plus", cwd=root)
    assert r.returncode == 0, r.stderr
    pkg = root / "wasl-crm-plus"
    r = env.pip_install_editable(pkg)
    assert r.returncode == 0, r.stderr + r.stdout
    return env, pkg


def test_the_scaffold_is_listed_once_installed(scaffolded):
    env, pkg = scaffolded
    r = env.run("hub", "connectors", "list", "--json", cwd=pkg)
    assert r.returncode == 0, r.stderr
    assert {"name": "crm_plus", "title": "crm_plus API", "kind": "source", "plugin": "crm_plus"} in json.loads(r.stdout)


def test_the_scaffold_passes_the_kit_with_its_own_tests(scaffolded):
    env, pkg = scaffolded
    r = env.run("pytest", "-q", "-p", "no:cacheprovider", cwd=pkg)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "5 passed" in r.stdout, r.stdout


def test_the_scaffold_example_config_is_valid_and_runs(scaffolded, tmp_path):
    from hub.config import load_config

    env, pkg = scaffolded
    cfg = load_config(pkg / "hub.example.yaml")
    assert cfg.connections["crm_plus-source"].connector == "crm_plus"


@contextmanager
def _login_page_server():
    """A local server that answers every GET with an HTML login page, as a proxy in front of a CRM does."""

    class LoginPage(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the name http.server calls
            body = b"<html><body>Sign in</body></html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), LoginPage)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_the_scaffold_says_in_words_when_its_system_answers_a_page_and_not_json(scaffolded, tmp_path, monkeypatch):
    # The parser's "Expecting value: line 1 column 1" would tell its author nothing of a login page.
    env, pkg = scaffolded
    example = (pkg / "hub.example.yaml").read_text(encoding="utf-8")
    assert "token: ${CRM_PLUS_TOKEN}" in example, "environment variables are named in capitals"
    monkeypatch.setenv("CRM_PLUS_TOKEN", "test-token")
    with _login_page_server() as url:
        config = "store: sqlite:///hub.db\n" + example.replace("https://crm.example.org/api", url)
        (tmp_path / "hub.yaml").write_text(config, encoding="utf-8")
        r = env.run("hub", "check", "crm_plus-source", cwd=tmp_path)
    assert r.returncode == 2, r.stderr
    assert f"crm_plus: {url}/records answered text/html; charset=utf-8, not JSON" in r.stderr
    assert "check the url and the token" in r.stderr and "JSONDecodeError" not in r.stderr


@contextmanager
def _paging_api(records, page_size):
    """A local API that answers ``records`` a page at a time, each page naming the next, as most CRMs do."""
    from urllib.parse import parse_qs, urlparse

    class Pages(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the name http.server calls
            query = parse_qs(urlparse(self.path).query)
            since, start = query.get("since", [""])[0], int(query.get("after", ["0"])[0])
            newer = [r for r in records if r["updated_at"] > since]
            more = start + page_size < len(newer)
            page = {"records": newer[start : start + page_size], "next": str(start + page_size) if more else None}
            body = json.dumps(page, ensure_ascii=False).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Pages)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_the_scaffold_reads_every_page_of_its_system_then_only_what_is_new(scaffolded, tmp_path, monkeypatch):
    # The template read the first page alone: an author who kept that lost every record past it
    # without a word, since the run succeeded.
    env, pkg = scaffolded
    monkeypatch.setenv("CRM_PLUS_TOKEN", "test-token")
    records = [
        {
            "id": f"G{i}",
            "donor": "رنا مصطفى",
            "amount": f"{i}00.50",
            "currency": "SYP",
            "date": "2026-10-01",
            "updated_at": f"2026-10-01T09:{i:02d}:00Z",
        }
        for i in range(1, 8)
    ]
    with _paging_api(records, page_size=2) as url:
        example = (pkg / "hub.example.yaml").read_text(encoding="utf-8").replace("https://crm.example.org/api", url)
        (tmp_path / "hub.yaml").write_text("store: sqlite:///hub.db\n" + example, encoding="utf-8")
        first = env.run("hub", "run", "crm_plus-source", "--json", cwd=tmp_path)
        records.append({**records[0], "id": "G9", "updated_at": "2026-10-02T09:00:00Z"})
        second = env.run("hub", "run", "crm_plus-source", "--json", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    run = json.loads(first.stdout)["runs"][0]
    assert (run["read"], run["inserted"]) == (7, 7), run
    assert second.returncode == 0, second.stderr
    run = json.loads(second.stdout)["runs"][0]
    assert (run["read"], run["inserted"]) == (1, 1), run


def test_bad_names_are_refused(tmp_path, folder):
    r = folder.hub("new", "connector", "CRM Plus")
    assert r.code == 2
    assert "not a usable connector name" in r.err
