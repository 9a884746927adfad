"""``hub new connector``: the package installs into a fresh environment, registers, and passes the kit."""

from __future__ import annotations

import json

import pytest

from hub.testing import Response, TestServer
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


def _login_page(req):
    """What a proxy in front of a CRM answers every request with: its HTML login page."""
    return Response(200, b"<html><body>Sign in</body></html>", {"Content-Type": "text/html; charset=utf-8"})


def test_the_scaffold_says_in_words_when_its_system_answers_a_page_and_not_json(scaffolded, tmp_path, monkeypatch):
    # The parser's "Expecting value: line 1 column 1" would tell its author nothing of a login page.
    env, pkg = scaffolded
    example = (pkg / "hub.example.yaml").read_text(encoding="utf-8")
    assert "token: ${CRM_PLUS_TOKEN}" in example, "environment variables are named in capitals"
    monkeypatch.setenv("CRM_PLUS_TOKEN", "test-token")
    with TestServer() as server:
        server.route("GET", "/records", _login_page)
        url = server.url
        config = "store: sqlite:///hub.db\n" + example.replace("https://crm.example.org/api", url)
        (tmp_path / "hub.yaml").write_text(config, encoding="utf-8")
        r = env.run("hub", "check", "crm_plus-source", cwd=tmp_path)
    assert r.returncode == 2, r.stderr
    assert f"crm_plus: {url}/records answered text/html; charset=utf-8, not JSON" in r.stderr
    assert "check the url and the token" in r.stderr and "JSONDecodeError" not in r.stderr


def _pages(records, page_size):
    """An API that answers ``records`` a page at a time, each page naming the next, as most CRMs do."""

    def page(req):
        since, start = req.arg("since", ""), int(req.arg("after") or 0)
        newer = [r for r in records if r["updated_at"] > since]
        more = start + page_size < len(newer)
        return Response(200, {"records": newer[start : start + page_size], "next": str(start + page_size) if more else None})

    return page


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
    with TestServer() as server:
        server.route("GET", "/records", _pages(records, page_size=2))
        url = server.url
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
