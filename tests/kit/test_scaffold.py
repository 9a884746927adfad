"""``hub new connector``: the package installs into a fresh environment, registers, and passes the kit."""

from __future__ import annotations

import json

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


def test_bad_names_are_refused(tmp_path, folder):
    r = folder.hub("new", "connector", "CRM Plus")
    assert r.code == 2
    assert "not a usable connector name" in r.err
