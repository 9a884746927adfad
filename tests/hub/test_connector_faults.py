"""A plugin's connector whose own code fails: the error names the connector and its plugin, not the hub.

Association IT staff write connectors (docs/connectors.md); their first versions will raise
a KeyError on a field their system leaves out, or parse an HTML login page as JSON. The
person who runs ``hub check`` or reads a failed run needs to know whose code it was, and
the maintainer needs the traceback: the hub used to call it an internal error of its own
("report it", exit 3) and a run's failure read "KeyError: 'region'", naming nobody.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

PLUGIN = """
import os
from hub import Connector, Stream, hookimpl


class Rows(Stream):
    name = "rows"
    entity = "donation"

    def read(self, cursor):
        for i in range(4):
            if i == 2 and self.connector.settings.get("fail") == "read":
                raise ValueError("page 2 of the CRM's answer has no 'items'")
            yield {"id": f"D{i}"}


class Flaky(Connector):
    name = "flaky"
    settings_schema = {"type": "object", "properties": {"fail": {"type": "string"}}}
    stream_class = Rows

    def check(self):
        if self.settings.get("fail") == "check":
            return {"name": "crm"}["region"]
        return "ok"

    def write(self, entity, deliveries):
        raise KeyError("status")


@hookimpl
def hub_register_connectors(registry):
    registry.add(Flaky)
"""

MAPPING = (
    "{id: id, association_id: {const: assoc-1}, amount: {const: '10'}, currency: {const: SYP}, "
    "donated_at: {const: '2026-11-01T10:00:00+03:00'}, channel: {const: cash}, status: {const: pledged}}"
)

HINT = "the error came from the connector's own code, not from the hub: run again with HUB_DEBUG=1 to see where"


def _hub(folder, fail: str, *, destination: bool = False) -> None:
    folder.write("plugins/flaky.py", PLUGIN)
    folder.write(
        "hub.yaml",
        "store: sqlite:///hub.db\nbatch_size: 2\nplugins: {folders: [plugins]}\nconnections:\n"
        f"  crm:\n    connector: flaky\n    settings: {{fail: {fail}}}\n"
        f"    streams:\n      rows: {{entity: donation, mapping: {MAPPING}}}\n"
        + ("    destinations: [partner]\n  partner:\n    connector: flaky\n" if destination else ""),
    )


def test_a_plugin_connectors_error_in_its_check_is_named_as_its_own_with_where_to_look(folder):
    _hub(folder, "check")
    r = folder.hub("check", "crm")
    assert r.code == 2, r.err
    assert "connection 'crm': connector 'flaky' (plugin 'folder:flaky') failed checking its system: KeyError: 'region'" in r.err
    assert HINT in r.err
    assert "internal error" not in r.err and "Traceback" not in r.err
    # Whoever maintains the plugin sees where, with the hub's own words at the end.
    said = _debugged(folder, "check", "crm")
    assert 'plugins/flaky.py", line' in said and "KeyError: 'region'" in said
    assert "ConnectorFault: connection 'crm'" in said


def _debugged(folder, *args: str) -> str:
    """What ``hub ARGS`` prints on stderr with ``HUB_DEBUG=1`` (the test helper leaves it out of every command)."""
    r = subprocess.run(
        [sys.executable, "-m", "hub", *args],
        cwd=folder.path,
        env={**os.environ, **folder.env, "HUB_DEBUG": "1"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    return r.stderr


def test_a_plugin_streams_error_fails_the_run_in_its_name_and_keeps_the_batches_before_it(folder):
    _hub(folder, "read")
    r = folder.hub("run", "crm")
    assert r.code == 2, r.err
    said = "connection 'crm': connector 'flaky' (plugin 'folder:flaky') failed reading stream 'rows': ValueError: page 2 of the CRM's answer has no 'items'"
    assert said in r.err and "Traceback" not in r.err
    (run,) = json.loads(folder.hub("runs", "--json").out)
    assert run["status"] == "failed" and run["error"].startswith(said) and HINT in run["error"]
    assert sorted(k for (k,) in folder.sql("select key from records")) == ["assoc-1|D0", "assoc-1|D1"], "the batch read before the fault"
    # The stream is read in a process of its own, whose traceback would otherwise reach nobody.
    said = _debugged(folder, "run", "crm")
    assert 'plugins/flaky.py", line' in said and "in read" in said, said[-2000:]


def test_a_plugin_destinations_error_fails_the_run_in_its_name_and_its_records_wait_to_be_sent(folder):
    _hub(folder, "none", destination=True)
    r = folder.hub("run", "crm")
    assert r.code == 2, r.err
    assert (
        "connection 'partner': connector 'flaky' (plugin 'folder:flaky') failed writing a batch of 4 donation record(s): KeyError: 'status'"
        in r.err
    )
    assert "internal error" not in r.err
    assert len(folder.sql("select key from records")) == 4, "what was read is stored"
    assert folder.sql("select status, count(*) from outbox group by status") == [("pending", 4)], "nothing lost, nothing marked delivered"
    assert folder.sql("select count(*) from quarantine")[0][0] == 0, "a bug in the destination is not the records' fault"
