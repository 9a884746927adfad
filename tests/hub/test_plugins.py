"""Plugins: entry points and plugin folders, built-ins registered like any other, failures named."""

from __future__ import annotations

import ast
import inspect
import json
import tomllib
from pathlib import Path

import pytest

import hub
from hub import hookspecs
from hub.errors import PluginError
from hub.plugins import Plugins
from hub.registry import ConnectorRegistry
from hub.sdk import Connector

ROOT = Path(__file__).resolve().parents[2]

FOLDER_PLUGIN = """
import json, os
from hub import hookimpl, Connector, Stream, SourceRow

class Numbers(Stream):
    entity = "association"
    def read(self, cursor):
        start = cursor.value or 0
        for i in range(start, start + 3):
            cursor.advance(i + 1)
            yield {"id": f"n{i}", "name_ar": "جمعية رقم " + str(i), "governorate": "SY01", "status": "active"}

class NumbersConnector(Connector):
    name = "numbers"
    settings_schema = {"type": "object", "properties": {"token": {"type": "string"}}}
    stream_class = Numbers

@hookimpl
def hub_register_connectors(registry):
    registry.add(NumbersConnector)

def shout(record, context):
    record["name_en"] = "ASSOCIATION " + record["id"].upper()
    return record

@hookimpl
def hub_register_transforms(registry):
    registry.add("shout", shout)

@hookimpl
def hub_resolve_secret(name):
    return "from-plugin" if name == "PLUGIN_TOKEN" else None

@hookimpl
def hub_run_finished(run):
    with open(os.environ["EVENTS_FILE"], "a") as f:
        f.write(json.dumps({"event": "finished", "connection": run["connection"], "inserted": run["inserted"]}) + "\\n")

@hookimpl
def hub_run_started(run):
    with open(os.environ["EVENTS_FILE"], "a") as f:
        f.write(json.dumps({"event": "started", "connection": run["connection"]}) + "\\n")
"""


def test_builtin_entry_points_and_modules_agree():
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["entry-points"]["wasl_hub"]
    modules = {f"{d}.{p.stem}" for d in ("connectors", "plugins") for p in (ROOT / d).glob("*.py") if p.stem != "__init__"}
    assert set(declared.values()) == modules, "every built-in module is declared, and only those"
    plugins = Plugins().load()
    assert {"csv", "xlsx", "jsonl", "sql"} <= set(plugins.connectors.names())
    assert plugins.connectors.owner("csv") == "csv", "registered through its entry point, like a third-party plugin"


def test_plugin_folder_provides_connector_transform_secret_and_events(folder):
    folder.write("my_plugins/numbers.py", FOLDER_PLUGIN)
    folder.write(
        "hub.yaml",
        "store: sqlite:///hub.db\nplugins: {folders: [my_plugins]}\nconnections:\n  n:\n    connector: numbers\n    settings: {token: '${PLUGIN_TOKEN}'}\n    streams:\n      s: {entity: association, transforms: [shout]}\n",
    )
    events = folder.path / "events.jsonl"
    env = {"EVENTS_FILE": str(events)}
    listed = json.loads(folder.hub("connectors", "list", "--json", env=env).out)
    assert {"name": "numbers", "title": "", "kind": "source", "plugin": "folder:numbers"} in listed
    r = folder.hub("run", "n", "--json", env=env)
    assert r.code == 0, r.err
    assert json.loads(r.out)["runs"][0]["inserted"] == 3
    assert json.loads(folder.sql("select data from records where key='n1'")[0][0])["name_en"] == "ASSOCIATION N1"
    assert [json.loads(x) for x in events.read_text().splitlines()] == [
        {"event": "started", "connection": "n"},
        {"event": "finished", "connection": "n", "inserted": 3},
    ]
    r = folder.hub("run", "n", "--json", env=env)
    assert json.loads(r.out)["runs"][0]["inserted"] == 3, "incremental: the cursor moved on from 3 to 6"
    assert json.loads(folder.sql("select cursor from stream_state")[0][0]) == 6


def test_a_transform_that_returns_what_json_cannot_hold_quarantines_the_record_not_the_run(folder):
    folder.write("my_plugins/numbers.py", FOLDER_PLUGIN)
    folder.write(
        "my_plugins/money.py",
        "from decimal import Decimal\nfrom hub import hookimpl\n\n"
        "def budget(record, context):\n"
        "    if record['id'] == 'n1':\n"
        "        record['extra'] = {'budget': Decimal('1250.50')}\n"
        "    return record\n\n"
        "@hookimpl\ndef hub_register_transforms(registry):\n    registry.add('budget', budget)\n",
    )
    folder.write(
        "hub.yaml",
        "store: sqlite:///hub.db\nplugins: {folders: [my_plugins]}\nconnections:\n  n:\n    connector: numbers\n    settings: {}\n    streams:\n      s: {entity: association, transforms: [budget]}\n",
    )
    r = folder.hub("run", "n", "--json", env={"EVENTS_FILE": str(folder.path / "events.jsonl")})
    assert r.code == 1, r.err
    assert (json.loads(r.out)["runs"][0]["inserted"], json.loads(r.out)["runs"][0]["quarantined"]) == (2, 1)
    (entry,) = json.loads(folder.hub("quarantine", "list", "--json").out)
    assert entry["raw"]["id"] == "n1" and "extra" not in entry["raw"], "the row as the source gave it"
    assert entry["errors"][0]["path"] == "extra.budget" and "a Decimal is not a JSON value" in entry["errors"][0]["message"]


def test_a_broken_third_party_plugin_is_a_warning_naming_it(folder, tmp_path):
    site = tmp_path / "site"
    dist = site / "broken_plugin-1.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-plugin\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[wasl_hub]\nbroken = broken_plugin\n")
    (site / "broken_plugin.py").write_text("raise RuntimeError('needs a library that is not installed')\n")
    r = folder.hub("connectors", "list", env={"PYTHONPATH": str(site)})
    assert r.code == 0, r.err
    assert "plugin broken was not loaded: RuntimeError: needs a library that is not installed" in r.err
    assert "csv" in r.out


def test_third_party_plugin_discovered_through_its_entry_point(folder, tmp_path):
    site = tmp_path / "site"
    dist = site / "wasl_numbers-1.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: wasl-numbers\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[wasl_hub]\nnumbers = wasl_numbers\n")
    (site / "wasl_numbers.py").write_text(FOLDER_PLUGIN)
    r = folder.hub("connectors", "list", "--json", env={"PYTHONPATH": str(site), "EVENTS_FILE": str(tmp_path / "e")})
    assert {"name": "numbers", "title": "", "kind": "source", "plugin": "numbers"} in json.loads(r.out)


def test_registry_refuses_duplicates_and_malformed_connectors():
    reg = ConnectorRegistry()

    class A(Connector):
        name = "dup"

        def write(self, entity, deliveries):
            return None

    reg.add(A)
    with pytest.raises(PluginError, match="already registered"):
        reg.add(A)

    class NoName(A):
        name = "Bad Name"

    with pytest.raises(PluginError, match="no valid name"):
        reg.add(NoName)

    class BadSchema(A):
        name = "bad-schema"
        settings_schema = {"type": "frobnitz"}

    with pytest.raises(PluginError, match="invalid settings schema"):
        reg.add(BadSchema)

    class Nothing(Connector):
        name = "nothing"

    with pytest.raises(PluginError, match="neither reads nor writes"):
        reg.add(Nothing)


def test_trace_switch_prints_hook_calls(folder):
    r = folder.hub("connectors", "list", env={"HUB_TRACE_HOOKS": "1"})
    assert "hub_register_connectors" in r.err


def test_every_hook_is_documented_and_named_hub():
    hooks = [f for n, f in inspect.getmembers(hookspecs, inspect.isfunction) if n.startswith("hub_")]
    assert len(hooks) >= 7
    for f in hooks:
        assert f.__doc__ and len(f.__doc__.strip()) > 40, f"{f.__name__} needs a docstring"
    for name, _ in inspect.getmembers(hookspecs, inspect.isfunction):
        assert name.startswith("hub_") or name in ("hookimpl", "hookspec"), name
    tests_text = "\n".join(p.read_text() for p in (ROOT / "tests").rglob("*.py"))
    for f in hooks:
        assert f.__name__ in tests_text, f"{f.__name__} has no test"
    # hub_records_quarantined and hub_run_failed are exercised in test_events below


def test_failed_and_quarantined_events(folder):
    folder.write(
        "my_plugins/events.py",
        """
import json, os
from hub import hookimpl

@hookimpl
def hub_run_failed(run, error):
    open(os.environ["EVENTS_FILE"], "a").write(json.dumps({"failed": run["connection"], "error": error}) + "\\n")

@hookimpl
def hub_records_quarantined(run, entries):
    open(os.environ["EVENTS_FILE"], "a").write(json.dumps({"quarantined": [e["line"] for e in entries]}) + "\\n")
""",
    )
    folder.write(
        "hub.yaml",
        "store: sqlite:///hub.db\nplugins: {folders: [my_plugins]}\nconnections:\n  a:\n    connector: csv\n    settings: {path: a.csv}\n    streams:\n      s: {entity: association}\n  gone:\n    connector: csv\n    settings: {path: missing.csv}\n    streams:\n      s: {entity: association}\n",
    )
    folder.write_csv(
        "a.csv",
        ["id", "name_ar", "governorate", "status"],
        [["a1", "جمعية", "SY01", "active"], ["a2", "جمعية", "Beirut", "active"]],
    )
    events = folder.path / "events.jsonl"
    folder.hub("run", "a", env={"EVENTS_FILE": str(events)})
    folder.hub("run", "gone", env={"EVENTS_FILE": str(events)})
    got = [json.loads(x) for x in events.read_text().splitlines()]
    assert got[0] == {"quarantined": [3]}
    assert got[1]["failed"] == "gone" and "missing.csv: no such file" in got[1]["error"]


def test_public_api_all_is_sorted_and_complete():
    assert hub.__all__ == sorted(hub.__all__)
    tree = ast.parse((ROOT / "hub" / "__init__.py").read_text())
    imported = {a.asname or a.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) for a in node.names}
    assert imported | {"__version__"} == set(hub.__all__)
    for name in hub.__all__:
        assert getattr(hub, name) is not None


def test_hub_configure_gives_plugins_the_config_with_secrets_resolved(folder):
    folder.write(
        "my_plugins/conf.py",
        """
import json, os
from hub import hookimpl

@hookimpl
def hub_configure(config):
    open(os.environ["EVENTS_FILE"], "w").write(json.dumps({"tz": config.timezone, "notify": config.notify}))
""",
    )
    folder.write(
        "hub.yaml",
        "store: sqlite:///hub.db\ntimezone: Europe/Istanbul\nplugins: {folders: [my_plugins]}\nnotify:\n  webhook: {url: 'http://127.0.0.1:9/x', secret: '${HOOK_KEY}'}\nconnections: {}\n",
    )
    events = folder.path / "conf.json"
    assert folder.hub("connectors", "list", env={"EVENTS_FILE": str(events), "HOOK_KEY": "resolved-key-123"}).code == 0
    assert json.loads(events.read_text()) == {
        "tz": "Europe/Istanbul",
        "notify": {"webhook": {"url": "http://127.0.0.1:9/x", "secret": "resolved-key-123"}},
    }
