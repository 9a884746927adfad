"""Every command a module declares is offered by ``hub``, including those loaded only on demand."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_declared_command_is_listed_and_answers_help(folder):
    # The listing from a fresh `python -m hub`; each command's help from the suite's fork server
    # (a fresh interpreter per command took half a minute of a CI leg).
    modules = ["hub.cli.commands", *(f"hub.cli.{p.stem}" for p in sorted((ROOT / "hub" / "cli").glob("*_cmd.py")))]
    names = {c.name for m in modules for c in importlib.import_module(m).COMMANDS}
    listed = subprocess.run([sys.executable, "-m", "hub", "--help"], capture_output=True, text=True, check=True).stdout
    missing = sorted(n for n in names if f"  {n} " not in listed)
    assert not missing, f"hub --help does not list {missing}"
    for name in sorted(names):
        answer = folder.hub(name, "--help")
        assert answer.code == 0 and "Usage: hub " + name in answer.out, (name, answer.err)


def test_status_shows_times_in_the_hubs_zone_to_the_minute(folder):
    # The table showed 2026-11-29T20:33:52.030080+00:00: UTC to the microsecond, for an admin in Damascus.
    import json

    folder.write(
        "hub.yaml",
        "store: sqlite:///hub.db\ntimezone: Asia/Damascus\nconnections:\n  a:\n    connector: csv\n    settings: {path: a.csv}\n"
        "    streams:\n      s: {entity: association}\n    schedule: {cron: '0 2 * * *'}\n",
    )
    assert folder.hub("run", "a").code == 2  # no a.csv: a failed run to show
    [row] = json.loads(folder.hub("status", "--json").out)
    started = row["last_failure"]["started_at"]
    from datetime import datetime
    from zoneinfo import ZoneInfo

    local = datetime.fromisoformat(started).astimezone(ZoneInfo("Asia/Damascus"))
    shown = folder.hub("status", env={"COLUMNS": "250"}).out
    assert f"failed {local:%Y-%m-%d %H:%M} +03" in shown
    assert started not in shown, "JSON keeps the full moment; the table reads as a clock does"
    assert "02:00 +03" in shown, "the next run, at 02:00 in Damascus"
    assert f"{local:%Y-%m-%d %H:%M} +03" in folder.hub("runs", env={"COLUMNS": "250"}).out, "hub runs says when each started"
    # Tokens too: made, last used, lapsing, in the hub's zone (they were UTC to the second).
    made = folder.hub("tokens", "create", "amal", "--association", "assoc-amal", "--expires-in", "30", "--json")
    token = json.loads(made.out)
    lapses = datetime.fromisoformat(token["expires_at"]).astimezone(ZoneInfo("Asia/Damascus"))
    listed = folder.hub("tokens", "list", env={"COLUMNS": "250"}).out
    assert f"{lapses:%Y-%m-%d %H:%M} +03" in listed and "(UTC)" not in listed, listed
    renewed = folder.hub("tokens", "expire", str(token["id"]), "--in", "30").out
    assert renewed.startswith(f"token {token['id']} (amal) is accepted until ") and renewed.rstrip().endswith("+03"), renewed
    # The audit log too: the token's creation, as the admin's clock read it.
    [entry] = [e for e in json.loads(folder.hub("audit", "list", "--json").out) if e["action"] == "token.create"]
    logged = datetime.fromisoformat(entry["at"]).astimezone(ZoneInfo("Asia/Damascus"))
    audited = folder.hub("audit", "list", env={"COLUMNS": "250"}).out
    assert f"{logged:%Y-%m-%d %H:%M} +03" in audited and entry["at"] not in audited, audited
    # One run's own page: its moments to the second, in the zone too; its flags as words.
    [run] = json.loads(folder.hub("runs", "--json").out)
    page = folder.hub("runs", "show", str(run["id"]), env={"COLUMNS": "250"}).out
    began = datetime.fromisoformat(run["started_at"]).astimezone(ZoneInfo("Asia/Damascus"))
    assert f"started_at      │ {began:%Y-%m-%d %H:%M:%S} +03" in page and run["started_at"] not in page, page
    assert "[]" not in page, "no Python list in an admin's table"
    # Accounts: when each last signed in, in the zone; disabled as a word, not Python's False.
    assert (
        folder.hub("users", "create", "a@b.org", "--name", "Amal", "--platform", "--password-stdin", input="a long passphrase\n").code == 0
    )
    accounts = folder.hub("users", "list", env={"COLUMNS": "250"}).out
    assert "False" not in accounts and "a@b.org" in accounts, accounts
    from hub.cli.output import local_time

    assert local_time("2026-11-29T20:33:52.030080+00:00", "Asia/Damascus") == "2026-11-29 23:33 +03"
    assert local_time("2026-11-29T20:33:52.030080+00:00", "Asia/Damascus", seconds=True) == "2026-11-29 23:33:52 +03"
    assert local_time("2026-03-29T12:00:00+00:00", "Asia/Kolkata") == "2026-03-29 17:30 +05:30"
    assert local_time("not a time", "Asia/Damascus") == "not a time"


def test_with_json_logs_an_error_and_a_warning_are_json_lines_too(folder):
    # A log collector reading a service's stderr as JSON lines would choke on "error: ..." text.
    import json

    folder.write("hub.yaml", "store: sqlite:///hub.db\nconnections: {}\n")
    r = folder.hub("--log-format", "json", "run", "nope")
    [line] = [json.loads(x) for x in r.err.splitlines()]
    assert r.code == 2 and (line["level"], line["logger"], line["exit_code"]) == ("ERROR", "hub", 2)
    assert line["message"].startswith("no connection named 'nope'") and line["time"].endswith("+00:00")
    r = folder.hub("run", "nope", env={"HUB_LOG_FORMAT": "json"})
    assert r.code == 2 and json.loads(r.err)["exit_code"] == 2
    assert folder.hub("run", "nope").err.startswith("error: no connection named 'nope'"), "text stays the default"


def test_an_empty_list_says_what_it_holds_and_how_to_make_the_first(folder):
    # A fresh hub's lists printed a frame of headers with nothing under it: an admin could not
    # tell an empty list from a command that failed to read.
    import json

    folder.write(
        "hub.yaml",
        "store: sqlite:///hub.db\nconnections:\n  a:\n    connector: csv\n    settings: {path: a.csv}\n"
        "    streams:\n      s: {entity: association}\n",
    )
    said = {
        ("runs",): "no runs yet: `hub run NAME` runs a connection now",
        ("runs", "--connection", "a", "--status", "failed"): "no runs of a with status failed",
        ("quarantine", "list"): "no open records in quarantine",
        ("quarantine", "list", "--status", "any", "--connection", "a"): "no records in quarantine from a",
        ("tokens", "list"): "no tokens yet: `hub tokens create NAME --association ID --write`",
        ("users", "list"): "no accounts yet: `hub users create EMAIL --name NAME`",
        ("matches", "list"): "no suggested decisions: `hub reconcile`",
        ("audit", "list"): "the audit log is empty",
        ("schedule", "list"): "nothing is scheduled: give a connection or a job a schedule in hub.yaml",
    }
    for args, words in said.items():
        answer = folder.hub(*args, env={"COLUMNS": "250"})
        assert answer.code == 0 and words in answer.out and "┏" not in answer.out, (args, answer.out, answer.err)
        assert json.loads(folder.hub(*args, "--json").out) == [], "JSON stays an empty list for scripts"
    # A config that names no connection yet: run and status say so.
    folder.write("bare.yaml", "store: sqlite:///hub.db\n")
    ran = folder.hub("-c", "bare.yaml", "run", "--all")
    assert ran.code == 0 and "nothing to run: " in ran.out and "bare.yaml names no connections yet" in ran.out, ran.out
    assert "bare.yaml names none; add one, then `hub check NAME`" in folder.hub("-c", "bare.yaml", "status", env={"COLUMNS": "250"}).out
    written = folder.hub("export", "all.xlsx")
    assert written.code == 0 and written.out.strip() == "wrote all.xlsx: the store holds no records yet", written.out
    assert "Programs: none stored, and no donation or distribution names one" in folder.hub("report").out
    # Once there is something to list, the table is back.
    folder.write("a.csv", "id,name_ar\nA1,جمعية\n")
    assert folder.hub("run", "a").code == 1  # exit 1: the record lacks required fields and is quarantined
    assert "┏" in folder.hub("runs").out and "┏" in folder.hub("quarantine", "list").out


def test_quarantine_show_gives_a_nested_raw_value_as_json_with_its_arabic(folder):
    # A JSON record's donor object was shown as Python's repr: {'name': 'سارة', ...}.
    import json

    folder.write(
        "hub.yaml",
        "store: sqlite:///hub.db\nconnections:\n  d:\n    connector: jsonl\n    settings: {path: d.jsonl}\n"
        "    streams:\n      s: {entity: donation}\n",
    )
    record = {
        "id": "D1",
        "association_id": "A1",
        "amount": "10",
        "currency": "SYP",
        "donated_at": "2026-10-01T10:00:00+03:00",
        "channel": "cash",
        "status": "received",
        "donor": {"name": "سارة", "accounts": ["SY123"], "anonymous": False},
    }
    folder.write("d.jsonl", json.dumps(record, ensure_ascii=False) + "\n")
    assert folder.hub("run", "d").code == 1
    # The list says since when each record has waited, in the hub's zone (Asia/Damascus by default).
    from datetime import datetime
    from zoneinfo import ZoneInfo

    [entry] = json.loads(folder.hub("quarantine", "list", "--json").out)
    since = datetime.fromisoformat(entry["created_at"]).astimezone(ZoneInfo("Asia/Damascus"))
    assert f"{since:%Y-%m-%d %H:%M} +03" in folder.hub("quarantine", "list", env={"COLUMNS": "250"}).out
    shown = folder.hub("quarantine", "show", "1", env={"COLUMNS": "250"}).out
    assert f"(validate, open since {since:%Y-%m-%d %H:%M} +03)" in shown, shown
    assert '{"name":"سارة","accounts":["SY123"],"anonymous":false}' in shown, shown
    assert "'name'" not in shown and "False" not in shown
    assert "donor.accounts" in shown and 'did you mean "account"?' in shown
    # Every table shows values so: a bank line's counterparty and reversal in `hub matches show` too.
    from hub.cli.output import cell_text

    assert cell_text({"name": "NOUR ALHUDA"}) == '{"name":"NOUR ALHUDA"}' and cell_text([1, "ب"]) == '[1,"ب"]'
    assert (cell_text(False), cell_text(True), cell_text(None), cell_text(0), cell_text("نعم")) == ("no", "yes", "", "0", "نعم")
    # Exported for the association to correct, the donor is JSON too.
    assert folder.hub("quarantine", "export", "fixes.csv").code == 0
    assert '"{""name"":""سارة"",""accounts"":[""SY123""],""anonymous"":false}"' in (folder.path / "fixes.csv").read_text(
        encoding="utf-8-sig"
    )
    # Corrected from the command line, the donor is given as JSON, as it was shown.
    wrong = folder.hub("quarantine", "replay", "1", "--set", "donor={name: سارة}")
    assert wrong.code == 1 and "donor holds an object: write its new value as JSON" in wrong.out, wrong.out
    fixed = folder.hub("quarantine", "replay", "1", "--set", 'donor={"name": "سارة", "anonymous": false}', "--json")
    assert fixed.code == 1 and "anonymous" in fixed.out, "the object is read, and the schema has no anonymous"
    # A JSON record's keys are the schema's fields: one it lacks may be added, a misspelt one is named.
    wrong = folder.hub("quarantine", "replay", "1", "--set", "refrence=R-1")
    assert wrong.code == 1 and "'refrence' is not a column of this row; did you mean 'reference'?" in wrong.out, wrong.out
    fixed = folder.hub("quarantine", "replay", "1", "--set", 'donor={"name": "سارة"}', "--set", "reference=R-1")
    assert fixed.code == 0, fixed.out
    [(data,)] = folder.sql("select data from records")
    assert (json.loads(data)["donor"], json.loads(data)["reference"]) == ({"name": "سارة"}, "R-1")


def test_a_corrected_yes_or_no_is_read_back_as_one():
    # A bank line's reversal is shown as true or false; typed back, it must not become the text "false".
    from hub.services.quarantine import _edited

    assert _edited({"reversal": True, "id": "L1"}, {"reversal": "false"}) == ({"reversal": False, "id": "L1"}, [])
    edited, problems = _edited({"reversal": True}, {"reversal": "no"})
    assert edited == {"reversal": True} and problems == [
        {"path": "reversal", "rule": "edit", "message": "reversal is true or false: write one of the two"}
    ]
    # Text stays text, even when it reads as JSON: an amount written 10 stays the text "10".
    assert _edited({"amount": "ten"}, {"amount": "10"}) == ({"amount": "10"}, [])
