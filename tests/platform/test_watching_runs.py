"""Watching runs over the API: what a script or a monitor of each scope sees, and a run asked for.

A real ``hub serve`` on 127.0.0.1 with two associations' connections, runs made by ``hub run``
(one held at its first record by the gate transform of tests/gate.py), and tokens of each
scope and right.
"""

from __future__ import annotations

import json

import httpx

from tests.conftest import wait_for
from tests.gate import open_gate, started, write_gate
from tests.platform.conftest import Platform

HEADER = ["id", "name_ar", "governorate", "status"]
CONFIG = """\
store: sqlite:///hub.db
plugins: {folders: [gate]}
connections:
  amal-register:
    association: assoc-amal
    connector: csv
    settings: {path: amal.csv}
    streams:
      s: {entity: association}
    schedule: {cron: '0 2 * * *'}
  amal-slow:
    association: assoc-amal
    connector: csv
    settings: {path: slow.csv}
    streams:
      s: {entity: association, transforms: [gate]}
  birr-register:
    association: assoc-birr
    connector: csv
    settings: {path: birr.csv}
    streams:
      s: {entity: association}
jobs:
  reconcile: {schedule: {cron: '30 2 * * *'}}
"""


def _site(folder) -> Platform:
    write_gate(folder)
    folder.write("hub.yaml", CONFIG)
    folder.write_csv("amal.csv", HEADER, [["assoc-amal", "جمعية الأمل", "SY01", "active"], ["bad", "", "SY99", "active"]])
    folder.write_csv("slow.csv", HEADER, [["assoc-amal", "جمعية الأمل", "SY01", "active"]])
    folder.write_csv("birr.csv", HEADER, [["assoc-birr", "جمعية البر", "SY02", "active"]])
    assert folder.hub("run", "amal-register").code == 1  # partial: one row quarantined
    assert folder.hub("run", "birr-register").code == 0
    folder.write("birr.csv", "not,a\n")  # a header without the mapped columns: the next run fails
    assert folder.hub("run", "birr-register").code == 2
    return Platform(folder).start()


def _runs(site: Platform, token: str, **params) -> httpx.Response:
    return site.get("/api/v1/runs", token, **params)


def test_each_token_sees_the_runs_of_its_own_connections(folder):
    site = _site(folder)
    try:
        amal = site.token("amal-monitor", "assoc-amal", write=False)
        platform = site.token("platform-monitor", write=False)

        mine = _runs(site, amal)
        assert mine.status_code == 200, mine.text
        assert [(r["connection"], r["status"]) for r in mine.json()["runs"]] == [("amal-register", "partial")]
        run = mine.json()["runs"][0]
        assert (run["read"], run["inserted"], run["quarantined"]) == (2, 1, 1)
        assert "worker" not in run, "which machine ran it is the platform's business"
        everything = _runs(site, platform).json()["runs"]
        assert [(r["connection"], r["status"]) for r in everything] == [
            ("birr-register", "failed"),
            ("birr-register", "succeeded"),
            ("amal-register", "partial"),
        ]
        assert everything[0]["worker"] and everything[0]["error"]

        # Someone else's connection or run is not there at all.
        birr_run = everything[0]["id"]
        assert _runs(site, amal, connection="birr-register").status_code == 404
        assert site.get(f"/api/v1/runs/{birr_run}", amal).status_code == 404
        detail = site.get(f"/api/v1/runs/{run['id']}", amal).json()
        [entry] = detail["quarantine"]
        assert entry["line"] == 3 and {e["path"] for e in entry["errors"]} == {"governorate", "name_ar"}, entry

        # What needs a look, and older pages.
        assert [r["id"] for r in _runs(site, platform, status="failed").json()["runs"]] == [birr_run]
        first = _runs(site, platform, limit=2).json()
        assert len(first["runs"]) == 2 and first["next_before"] == first["runs"][-1]["id"]
        rest = _runs(site, platform, limit=2, before=first["next_before"]).json()
        assert [r["connection"] for r in rest["runs"]] == ["amal-register"] and rest["next_before"] is None
        bad = _runs(site, platform, status="exploded")
        assert bad.status_code == 422 and "not a run status" in bad.json()["detail"]
        assert _runs(site, platform, conection="amal-register").status_code == 422, "a misspelt filter is refused, not ignored"

        # The same state hub status shows, within the token's scope.
        rows = site.get("/api/v1/connections", amal).json()["connections"]
        assert [r["connection"] for r in rows] == ["amal-register", "amal-slow"]
        assert rows[0]["last_run"]["status"] == "partial" and rows[0]["schedule"] and rows[0]["next"]
        assert rows[1]["last_run"] is None and rows[1]["running"] == []
        seen = {r["connection"]: r for r in site.get("/api/v1/connections", platform).json()["connections"]}
        assert list(seen) == ["amal-register", "amal-slow", "birr-register", "job:reconcile"]
        assert seen["birr-register"]["last_failure"]["id"] == birr_run
        status = {r["connection"]: r for r in json.loads(folder.hub("status", "--json").out)}
        assert seen["birr-register"]["last_failure"] == status["birr-register"]["last_failure"], "one state for the CLI and the API"

        made = folder.hub("tokens", "create", "push-only", "--association", "assoc-amal", "--no-read", "--write", "--json")
        no_read = json.loads(made.out)["token"]
        refused = _runs(site, no_read)
        assert refused.status_code == 403 and "no read right" in refused.json()["detail"]
    finally:
        site.stop()


def test_a_token_with_the_write_right_asks_for_a_run_of_its_own_connection(folder):
    site = _site(folder)
    try:
        reader = site.token("amal-monitor", "assoc-amal", write=False)
        writer = site.token("amal-ops", "assoc-amal", write=True)

        def ask(name: str, token: str) -> httpx.Response:
            return httpx.post(f"{site.url}/api/v1/connections/{name}/run", headers={"Authorization": f"Bearer {token}"}, timeout=10)

        assert ask("amal-slow", reader).status_code == 403
        assert ask("birr-register", writer).status_code == 404, "another association's connection"
        assert ask("no-such", writer).status_code == 404
        asked = ask("amal-slow", writer)
        assert asked.status_code == 202 and asked.json()["requested"] is True, asked.text

        # hub serve takes the request within seconds; the gate holds the run at its first record.
        assert wait_for(lambda: started(folder).exists(), timeout=60), site.proc.stderr.read()
        [running] = _runs(site, reader, connection="amal-slow", status="running").json()["runs"]
        assert running["scheduled_for"] == asked.json()["scheduled_for"], "the answer names the run to look for"
        again = ask("amal-slow", writer)
        assert again.status_code == 409 and "is running now" in again.json()["detail"]
        rows = {r["connection"]: r for r in site.get("/api/v1/connections", reader).json()["connections"]}
        assert rows["amal-slow"]["running"] == [running["id"]]

        open_gate(folder)
        assert wait_for(lambda: site.get(f"/api/v1/runs/{running['id']}", reader).json()["status"] == "succeeded", timeout=60)
        trail = [a for a in json.loads(folder.hub("audit", "list", "--json").out) if a["action"] == "schedule.trigger"]
        assert [(a["actor"], a["subject"]) for a in trail] == [("token:amal-ops", "schedule/amal-slow")]
    finally:
        site.stop()
