"""An association's hub pushes to the platform's hub: two processes, two stores, real HTTP."""

from __future__ import annotations

import gzip
import json
import os
import re
import signal
import subprocess
import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import httpx

from tests.conftest import DONATION_HEADER, DONATION_RECORD, ON_POSTGRES, donation_rows, wait_for
from tests.platform.conftest import PLATFORM_CONFIG, Proxy

GOOD = DONATION_RECORD


def _run(association, *args, **kw):
    return association.hub("run", "amal", *args, **kw)


def test_full_push_arrives_once_and_both_sides_agree(platform, association):
    platform.start()
    association.configure(platform.url, platform.token("amal", "assoc-amal"), rows=1200, batch_size=200)
    r = _run(association)
    assert r.code == 0, r.err
    assert platform.count() == 1200
    assert association.outbox() == {"delivered": 1200}
    # What the platform holds is what the association sent, Arabic as written.
    stored = platform.folder.sql("select data, version, connection from records where key = ?", ("assoc-amal|D0000007",))
    data, version, connection = stored[0]
    assert json.loads(data)["donor"]["name"] == "محمد أحمد" and version == 1 and connection == "api:amal"
    # Pushing again sends nothing new and changes nothing there.
    again = _run(association)
    assert again.code == 0 and platform.count() == 1200
    assert platform.folder.sql("select max(version) from records")[0][0] == 1
    # Every write is in the platform's audit log, whose chain is intact.
    assert platform.folder.sql("select count(*) from audit_log where action = 'api.ingest'")[0][0] == 6
    v = platform.folder.hub("audit", "verify")
    assert v.code == 0 and "intact" in v.out
    # An entry naming 200 records reads as one line in the list, and whole with audit show.
    [newest] = json.loads(platform.folder.hub("audit", "list", "--limit", "1", "--json").out)
    assert newest["action"] == "api.ingest" and len(newest["detail"]["written"]) == 200
    listed = platform.folder.hub("audit", "list", "--limit", "1").out
    assert len(listed.splitlines()) < 10, f"one entry, a few lines: {listed}"
    cells = " ".join(re.sub("[│┃]", " ", listed).split())  # the table's cells, unwrapped
    # Batches go two at a time, so the newest entry is one of the last two: name its own last key.
    last_key, _version = newest["detail"]["written"][-1]
    assert f"(hub audit show {newest['id']})" in cells and last_key not in cells, listed
    shown = platform.folder.hub("audit", "show", str(newest["id"]), "--json")
    whole = json.loads(shown.out)
    assert whole["detail"] == newest["detail"] and len(whole["hash"]) == 64 and len(whole["prev_hash"]) == 64
    assert last_key.startswith("assoc-amal|D") and last_key in platform.folder.hub("audit", "show", str(newest["id"])).out
    missing = platform.folder.hub("audit", "show", "99999")
    assert missing.code != 0 and "no audit entry 99999" in missing.err and "Traceback" not in missing.err


def test_a_platform_connection_with_transforms_is_pushed_what_they_leave_and_compare_still_agrees(platform, association):
    platform.start()
    token = platform.token("amal", "assoc-amal")
    association.configure(platform.url, token, rows=12, batch_size=5, extra="    transforms: [drop_donor_contact]\n")
    assert _run(association).code == 0
    there = [json.loads(d) for (d,) in platform.folder.sql("select data from records where entity = 'donation'")]
    assert len(there) == 12 and all("donor" not in x for x in there), there[0]
    here = [json.loads(d) for (d,) in association.sql("select data from records where entity = 'donation'")]
    assert all(x["donor"]["name"] == "محمد أحمد" for x in here)
    # What the platform holds is compared by version, not content: a trimmed record is not "older".
    assert association.hub("compare", "amal", "--with", "platform").code == 0
    assert association.hub("run", "amal", "--json").code == 0
    assert platform.count() == 12


def test_compare_names_what_a_restored_platform_lacks_and_resend_queues_only_that(platform, association):
    platform.start()
    association.configure(platform.url, platform.token("amal", "assoc-amal"), rows=30, batch_size=10)
    assert _run(association).code == 0
    same = association.hub("compare", "amal", "--with", "platform", "--json")
    assert same.code == 0, same.err
    counts = {"here": 30, "there": 30, "missing": 0, "older": 0, "newer_there": 0, "only_there": 0}
    assert json.loads(same.out) == {
        "connection": "amal",
        "destination": "platform",
        "agree": True,
        "entities": {"donation": counts},
        "missing": [],
        "older": [],
    }

    # A gift corrected here reaches the platform as version 2; then the platform is restored
    # from a backup taken before it, and before three gifts arrived at all.
    rows = donation_rows(30)
    rows[4][2] = "9999.99"
    association.write_csv("donations.csv", DONATION_HEADER, rows, encoding="utf-8-sig")
    assert _run(association).code == 0
    gone = ("assoc-amal|D0000007", "assoc-amal|D0000011", "assoc-amal|D0000012")
    platform.folder.execute(f"delete from records where key in ({', '.join('?' * len(gone))})", gone)
    platform.folder.execute("update records set source_version = 1 where key = ?", ("assoc-amal|D0000004",))
    assert association.outbox() == {"delivered": 31}, "the outbox is sure everything arrived"

    r = association.hub("compare", "amal", "--with", "platform")
    assert r.code == 1
    cells = " ".join(re.sub("[│┃]", " ", r.out).split())
    assert "donation 30 27 3 1 0 0" in cells, r.out
    assert "missing there: assoc-amal|D0000007, assoc-amal|D0000011, assoc-amal|D0000012" in r.out
    assert "older there: assoc-amal|D0000004" in r.out and "--resend` queues the 4 record(s)" in r.out

    fixed = association.hub("compare", "amal", "--with", "platform", "--resend", "--json")
    assert fixed.code == 0, fixed.err
    assert json.loads(fixed.out)["queued"] == {"again": 4, "added": 0}
    [entry] = json.loads(association.hub("audit", "list", "--json").out)
    assert entry["action"] == "outbox.resend" and entry["detail"]["compared"] == {"donation": {"missing": 3, "older": 1}}
    sent = json.loads(association.hub("run", "platform", "--json").out)["runs"][0]
    assert sent["delivered"] == 4, "only what the platform lacked"
    assert platform.count() == 30
    version, amount = platform.folder.sql("select source_version, data from records where key = ?", ("assoc-amal|D0000004",))[0]
    assert version == 2 and json.loads(amount)["amount"] == "9999.99"
    assert association.hub("compare", "amal", "--with", "platform").code == 0


def _restore_platform(platform, saved, request) -> None:
    """Put the platform's store back as it was when ``_save_platform`` took ``saved``, the platform stopped.

    SQLite: ``hub restore``. PostgreSQL, as its operators would: pg_restore of a pg_dump into
    a new database, which the platform is then pointed at.
    """
    platform.stop()
    if not ON_POSTGRES:
        r = platform.folder.hub("restore", str(saved), "--yes")
        assert r.code == 0, r.err
        return
    from tests.pg_server import BIN

    url = request.getfixturevalue("pg_databases").take()
    libpq = url.replace("postgresql+psycopg://", "postgresql://")
    subprocess.run([str(BIN / "pg_restore"), "--no-owner", f"--dbname={libpq}", str(saved)], check=True, capture_output=True)
    platform.folder.store_url, platform.folder.env["HUB_STORE"] = url, url


def _save_platform(platform, path):
    """A backup of the platform's store, taken while it serves: ``hub backup``, or pg_dump on PostgreSQL."""
    if not ON_POSTGRES:
        r = platform.folder.hub("backup", str(path))
        assert r.code == 0, r.err
        return path
    from tests.pg_server import BIN

    libpq = platform.folder.store_url.replace("postgresql+psycopg://", "postgresql://")
    subprocess.run([str(BIN / "pg_dump"), "--format=custom", f"--file={path}", libpq], check=True, capture_output=True)
    return path


def test_a_platform_restored_from_a_backup_is_sent_again_what_it_lost_without_anyone_asking(platform, association, tmp_path, request):
    platform.start()
    association.configure(platform.url, platform.token("amal", "assoc-amal"), rows=30, batch_size=10)
    assert _run(association).code == 0
    saved = _save_platform(platform, tmp_path / "platform-backup")
    # After the backup: ten gifts more, and one corrected (version 2), all delivered.
    rows = donation_rows(40)
    rows[4][2] = "9999.99"
    association.write_csv("donations.csv", DONATION_HEADER, rows, encoding="utf-8-sig")
    assert _run(association).code == 0 and platform.count() == 40
    # A run with nothing new while the platform is unchanged queues nothing again.
    quiet = json.loads(_run(association, "--json").out)["runs"][0]
    assert quiet["delivered"] == 0 and not quiet["flags"], quiet

    _restore_platform(platform, saved, request)
    platform.start()
    assert platform.count() == 30, "the platform is back as it was at its backup"
    assert association.outbox() == {"delivered": 41}, "the outbox is sure everything arrived"

    # The next run, with nothing new to read, sees another store and sends everything again.
    r = _run(association, "--json")
    assert r.code == 0, r.err
    [run] = json.loads(r.out)["runs"]
    assert run["status"] == "succeeded" and run["delivered"] == 40, run
    assert any("its store is not the one this hub delivered to" in f and "40 record(s) queued for it again" in f for f in run["flags"]), run
    assert platform.count() == 40
    version, data = platform.folder.sql("select source_version, data from records where key = ?", ("assoc-amal|D0000004",))[0]
    assert version == 2 and json.loads(data)["amount"] == "9999.99"
    assert platform.folder.sql("select max(version) from records")[0][0] == 2, "what it still held was answered unchanged"
    resent = [e for e in json.loads(association.hub("audit", "list", "--json").out) if e["action"] == "outbox.resend"]
    assert len(resent) == 1 and resent[0]["actor"] == "hub" and resent[0]["detail"]["again"] == 40, resent
    assert resent[0]["detail"]["store_epoch"]["was"] != resent[0]["detail"]["store_epoch"]["now"]
    # And only once: the run after it sends nothing.
    after = json.loads(_run(association, "--json").out)["runs"][0]
    assert after["delivered"] == 0 and not after["flags"], after
    assert association.hub("compare", "amal", "--with", "platform").code == 0


def test_compare_finds_records_a_stream_keys_by_its_own_fields_under_the_platforms_key(platform, association):
    platform.start()
    association.configure(platform.url, platform.token("amal", "assoc-amal"), rows=5)
    config = (association.path / "hub.yaml").read_text(encoding="utf-8")
    association.write("hub.yaml", config.replace("        entity: donation\n", "        entity: donation\n        key: [id]\n", 1))
    assert _run(association).code == 0
    assert association.sql("select min(key) from records") == [("D0000000",)], "keyed here by the receipt number alone"
    r = association.hub("compare", "amal", "--with", "platform", "--json")
    assert r.code == 0, r.out
    assert json.loads(r.out)["entities"]["donation"] == {"here": 5, "there": 5, "missing": 0, "older": 0, "newer_there": 0, "only_there": 0}


def test_compare_needs_a_token_that_may_read(platform, association):
    platform.start()
    association.configure(platform.url, platform.token("amal", "assoc-amal", read=False), rows=3)
    assert _run(association).code == 0
    r = association.hub("compare", "amal", "--with", "platform")
    assert r.code == 2 and "the token needs read rights" in r.err and "Traceback" not in r.err


def test_the_check_says_when_a_token_lacks_the_right_its_connections_need(platform, association, tmp_path, request):
    # `hub check platform` said "ok" for a token that every push, or every pull, would meet with a 403.
    platform.start()
    association.configure(platform.url, platform.token("amal-ro", "assoc-amal", write=False), rows=3)
    r = association.hub("check", "platform")
    assert r.code == 2 and "Traceback" not in r.err, r.err
    assert (
        "token 'amal-ro' for association assoc-amal, read; it may not write, and amal deliver(s) here: every batch would be refused (403)"
        in r.err
    )
    assert "hub tokens create NAME --association A --read --write" in r.err
    reader = _reader(platform, platform.token("pusher-only", "assoc-amal", read=False), tmp_path, request)
    r = reader.hub("check", "from_platform")
    assert (
        r.code == 2
        and "token 'pusher-only' for association assoc-amal, write; it may not read, and this connection's streams read" in r.err
    )
    # A token of another association: every record the amal connection sends names assoc-amal.
    association.env["PLATFORM_TOKEN"] = platform.token("birr", "assoc-birr")
    r = association.hub("check", "platform")
    assert r.code == 2 and "it writes only association assoc-birr's records, and assoc-amal's are delivered here" in r.err, r.err
    association.env["PLATFORM_TOKEN"] = platform.token("amal", "assoc-amal", read=False)
    r = association.hub("check", "platform")
    assert r.code == 0 and "token 'amal' for association assoc-amal, write" in r.out, r.err


def test_batches_larger_than_the_platform_takes_are_split_not_quarantined(platform, association):
    """The platform takes at most 200 records a request; the association was set to send 450."""
    platform.start()
    association.configure(platform.url, platform.token("amal", "assoc-amal"), rows=450, batch_size=450)
    r = _run(association)
    assert r.code == 0, r.err
    assert "lower batch_size" in r.err  # said once, so the setting gets fixed
    assert platform.count() == 450 and association.outbox() == {"delivered": 450}
    assert association.sql("select count(*) from quarantine") == [(0,)]


def test_a_push_repeated_after_a_crash_before_the_answer_changes_nothing(platform, association):
    platform.start()
    proxy = Proxy(platform.url)
    try:
        association.configure(proxy.url, platform.token("amal", "assoc-amal"), rows=50, timeout=60)
        proxy.hold_answers = True
        pusher = association.popen("run", "amal")
        assert proxy.forwarded.wait(60), pusher.stderr.read()
        # The platform committed the batch; the pusher dies before it hears so.
        assert platform.count() == 50
        os.kill(pusher.pid, signal.SIGKILL)
        pusher.wait()
        assert association.outbox() == {"pending": 50}

        proxy.hold_answers = False
        r = _run(association)
        assert r.code == 0, r.err
        assert association.outbox() == {"delivered": 50}
        # The same Idempotency-Key: the platform answered with its first answer and applied nothing.
        assert proxy.answers[-1][1].get("idempotent-replayed") == "true"
        assert platform.count() == 50
        assert platform.folder.sql("select max(version), count(*) from record_history")[0][1] == 0
        assert platform.folder.sql("select count(*) from audit_log where action = 'api.ingest'")[0][0] == 1
    finally:
        proxy.close()


def test_the_platform_killed_mid_push_gets_everything_once_it_is_back(platform, association):
    platform.start()
    association.configure(platform.url, platform.token("amal", "assoc-amal"), rows=3000, batch_size=50, retries=12, extra="")
    # Slow the pusher down so the platform dies mid-push: 20 requests a second.
    cfg = (association.path / "hub.yaml").read_text(encoding="utf-8").replace("backoff: 0.05", "backoff: 0.05\n      rate_limit: 20")
    association.write("hub.yaml", cfg)
    pusher = association.popen("run", "amal")
    assert wait_for(lambda: platform.count() >= 200, timeout=60), pusher.stderr.read()
    platform.kill()
    killed_at = platform.count()
    assert killed_at < 3000, "the push finished before the platform was killed"
    platform.start()
    code = pusher.wait(timeout=300)
    if code == 75:  # the retries ran out before it was back: try later, says the run; later is now
        r = _run(association, "--retry-now")
        assert r.code == 0, r.err
    else:
        assert code == 0, pusher.stderr.read()
    assert platform.count() == 3000
    assert association.outbox() == {"delivered": 3000}
    assert platform.folder.sql("select max(version) from records")[0][0] == 1


def test_an_association_token_cannot_write_another_associations_records(platform, association):
    platform.start()
    association.configure(platform.url, platform.token("birr", "assoc-birr"), rows=5)
    r = _run(association)
    assert r.code == 1, r.err  # delivered nothing, quarantined everything
    assert platform.count() == 0
    q = json.loads(association.hub("quarantine", "list", "--json").out)
    assert len(q) == 5 and all(e["stage"] == "deliver" for e in q)
    entry = json.loads(association.hub("quarantine", "show", str(q[0]["id"]), "--json").out)
    assert any(e["rule"] == "scope" and "assoc-birr" in e["message"] for e in entry["errors"])
    # The platform keeps what it refused, raw, in its own quarantine.
    assert platform.folder.sql("select count(*) from quarantine where stage = 'api'")[0][0] == 5
    # It cannot replay them itself: the sender holds the record; it fixes and sends it again.
    first = platform.folder.sql("select min(id) from quarantine")[0][0]
    replay = json.loads(platform.folder.hub("quarantine", "replay", str(first), "--json").out)
    assert replay["replayed"] == [] and "the sending hub fixes the record" in replay["skipped"][0]["reason"]
    assert platform.folder.sql("select status from quarantine where id = ?", (first,)) == [("open",)]
    # The association is given the right token. Its records have not changed, so running the
    # source again sends nothing; replaying the refusals sends each again, and they arrive.
    association.env["PLATFORM_TOKEN"] = platform.token("amal", "assoc-amal")
    assert _run(association).code == 0 and platform.count() == 0, "an unchanged source resends nothing"
    again = association.hub("quarantine", "replay", "--connection", "platform", "--json")
    assert again.code == 0, again.out + again.err
    assert len(json.loads(again.out)["replayed"]) == 5
    assert platform.count() == 5 and association.outbox() == {"delivered": 5}
    assert json.loads(association.hub("quarantine", "list", "--json").out) == []
    assert association.hub("audit", "verify").code == 0


def test_a_revoked_token_fails_the_run_and_loses_nothing(platform, association):
    platform.start()
    token = platform.token("amal", "assoc-amal")
    association.configure(platform.url, token, rows=5)
    ids = json.loads(platform.folder.hub("tokens", "list", "--json").out)
    assert platform.folder.hub("tokens", "revoke", str(ids[0]["id"])).code == 0
    r = _run(association)
    assert r.code == 2 and "401" in r.err and token not in r.err + r.out
    assert association.outbox() == {"pending": 5}
    association.env["PLATFORM_TOKEN"] = platform.token("amal-2", "assoc-amal")
    assert _run(association).code == 0
    assert platform.count() == 5


def test_a_token_that_expires_is_announced_by_the_check_then_refused_and_nothing_is_lost(platform, association):
    platform.start()
    made = platform.folder.hub("tokens", "create", "amal", "--association", "assoc-amal", "--write", "--expires-in", "7", "--json")
    assert made.code == 0, made.err
    created = json.loads(made.out)
    association.configure(platform.url, created["token"], rows=5)
    check = association.hub("check", "platform")
    assert check.code == 0 and f"until {created['expires_at'][:10]}" in check.out, check.out + check.err
    assert "in 6 day(s): ask the other hub for a new token" in check.out  # seven days, less the moment since
    assert _run(association).code == 0 and platform.count() == 5
    # Every run that delivers says so too, where admins look (hub runs, the web admin), not only the check.
    [run] = json.loads(association.hub("runs", "--limit", "1", "--json").out)
    assert any(
        flag.startswith(f"platform: the token 'amal' for {platform.url} stops working at {created['expires_at'][:10]}")
        and flag.endswith("in 6 day(s): ask the other hub for a new token")
        for flag in run["flags"]
    ), run["flags"]
    listed = json.loads(platform.folder.hub("tokens", "list", "--json").out)
    assert listed[0]["expires_at"] == created["expires_at"]
    # A week on, as far as the platform's clock is concerned: the token is refused, in words.
    past = "2026-01-01 00:00:00+00:00" if ON_POSTGRES else "2026-01-01 00:00:00.000000"  # as each store keeps times
    platform.folder.sql("update api_tokens set expires_at = ? where name = 'amal'", (past,))
    association.write_csv("donations.csv", DONATION_HEADER, donation_rows(8), encoding="utf-8-sig")
    r = _run(association)
    assert r.code == 2 and "401" in r.err and "expired at 2026-01-01T00:00:00" in r.err and created["token"] not in r.err + r.out
    assert association.outbox() == {"delivered": 5, "pending": 3}
    association.env["PLATFORM_TOKEN"] = platform.token("amal-2", "assoc-amal")
    assert _run(association).code == 0 and platform.count() == 8


def test_a_token_over_the_platforms_rate_limit_is_told_when_to_come_back_and_everything_arrives(platform, association):
    platform.folder.write("hub.yaml", PLATFORM_CONFIG + "  rate_limit: {per_second: 0.5, burst: 2}\n")
    platform.start()
    token, observer = platform.token("amal", "assoc-amal"), platform.token("observer", write=False)
    answers = [platform.get("/api/v1/token", token) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert int(answers[2].headers["Retry-After"]) in (1, 2) and "api.rate_limit" in answers[2].json()["detail"]
    assert platform.get("/api/v1/token", observer).status_code == 200  # one bucket per token
    # The pusher waits as told: three batches of two, each let through in its turn.
    association.configure(platform.url, token, rows=6, batch_size=2, retries=6)
    r = _run(association)
    assert r.code == 0, r.err
    assert platform.count() == 6 and association.outbox() == {"delivered": 6}
    metrics = httpx.get(f"{platform.url}/metrics").text
    assert 'status="429"' in metrics


def _reader(platform, token: str, tmp_path, request):
    """A third hub whose ``from_platform`` connection pulls the platform's donation changes, seven a page."""
    from tests.platform.conftest import _sub_folder

    reader = _sub_folder(tmp_path, "reader", request)
    reader.write(
        "hub.yaml",
        f"""\
store: sqlite:///hub.db
connections:
  from_platform:
    connector: wasl
    settings: {{url: "{platform.url}", token: "${{READ_TOKEN}}", page_size: 7}}
    streams:
      donations: {{entity: donation}}
""",
    )
    reader.env["READ_TOKEN"] = token
    return reader


def test_another_hub_pulls_the_changes_incrementally(platform, association, tmp_path, request):
    platform.start()
    association.configure(platform.url, platform.token("amal", "assoc-amal"), rows=30)
    assert _run(association).code == 0
    reader = _reader(platform, platform.token("observer", write=False), tmp_path, request)
    first = json.loads(reader.hub("run", "from_platform", "--json").out)["runs"][0]
    assert first["read"] == 30 and first["inserted"] == 30
    association.write_csv("donations.csv", DONATION_HEADER, donation_rows(34), encoding="utf-8-sig")
    assert _run(association).code == 0
    second = json.loads(reader.hub("run", "from_platform", "--json").out)["runs"][0]
    assert second["read"] == 4 and second["inserted"] == 4
    assert reader.sql("select count(*) from records")[0][0] == 34

    [state] = json.loads(reader.hub("state", "show", "from_platform", "--json").out)
    assert state["cursor"]["seq"] >= 34 and state["cursor"]["store_epoch"], state
    # A cursor past the newest change the platform has numbered, and naming no store (one set
    # by hand, or kept from a platform before store epochs): an empty page would leave the
    # reader waiting, without a word, for changes it will never be given.
    assert reader.hub("state", "set", "from_platform", str(state["cursor"]["seq"] + 1000)).code == 0
    lost = reader.hub("run", "from_platform")
    assert lost.code == 2, lost.err
    assert "is past this hub's newest change" in lost.err and "restored from a backup or replaced" in lost.err
    assert "hub state rewind from_platform --stream donations" in lost.err and "Traceback" not in lost.err
    assert reader.hub("state", "rewind", "from_platform").code == 0
    again = json.loads(reader.hub("run", "from_platform", "--json").out)["runs"][0]
    assert (again["read"], again["inserted"], again["unchanged"]) == (34, 0, 34)


def test_a_reader_of_a_restored_platform_reads_its_changes_again_from_the_start(platform, association, tmp_path, request):
    platform.start()
    association.configure(platform.url, platform.token("amal", "assoc-amal"), rows=30)
    assert _run(association).code == 0
    observer = platform.token("observer", write=False)
    saved = _save_platform(platform, tmp_path / "platform-backup")
    association.write_csv("donations.csv", DONATION_HEADER, donation_rows(34), encoding="utf-8-sig")
    assert _run(association).code == 0
    reader = _reader(platform, observer, tmp_path, request)
    assert json.loads(reader.hub("run", "from_platform", "--json").out)["runs"][0]["read"] == 34

    # The platform goes back to its backup (30 gifts, 30 changes numbered). Two gifts come in
    # (changes 31 and 32, numbers the reader's cursor, at 34, has counted already), then the
    # association sends what the platform lost (33 to 36). Read on from 34, the two new gifts
    # would never reach the reader, and nothing would say so.
    _restore_platform(platform, saved, request)
    platform.start()
    new = [{**GOOD, "id": f"NEW-{n}"} for n in (1, 2)]
    headers = {"Authorization": f"Bearer {association.env['PLATFORM_TOKEN']}"}
    posted = httpx.post(f"{platform.url}/api/v1/donation/batch", json={"records": new}, headers=headers, timeout=30)
    assert posted.status_code == 200 and posted.json()["accepted"] == 2, posted.text
    assert _run(association).code == 0 and platform.count() == 36
    r = reader.hub("run", "from_platform", "--json")
    assert r.code == 0, r.err
    run = json.loads(r.out)["runs"][0]
    assert (run["read"], run["inserted"], run["unchanged"]) == (36, 2, 34), run
    assert reader.sql("select count(*) from records where key in (?, ?)", ("assoc-amal|NEW-1", "assoc-amal|NEW-2"))[0][0] == 2
    assert "the other hub's store is not the one this cursor was read from" in r.err
    assert any("its changes were read again from the start" in f for f in run["flags"]), run
    assert reader.sql("select count(*) from records")[0][0] == 36
    # From then on it reads on from there.
    assert json.loads(reader.hub("run", "from_platform", "--json").out)["runs"][0]["read"] == 0


def test_a_hub_that_pushes_and_pulls_gets_back_what_others_wrote_not_its_own_echo(platform, association):
    """The association pushes its donations and pulls from the same platform what donors gave it there."""
    platform.start()
    pull = f"""\
  from_platform:
    connector: wasl
    settings: {{url: "{platform.url}", token: "${{PULL_TOKEN}}"}}
    streams:
      donations: {{entity: donation}}
"""
    association.configure(platform.url, platform.token("amal-push", "assoc-amal"), rows=3, extra=pull)
    association.env["PULL_TOKEN"] = platform.token("amal-pull", "assoc-amal", write=False)
    assert _run(association).code == 0 and platform.count() == 3
    # The association corrects a pledge; its push fails for now (the push token was revoked).
    rows = donation_rows(3)
    rows[1][2] = "9999.00"
    association.write_csv("donations.csv", DONATION_HEADER, rows, encoding="utf-8-sig")
    push_token_id = json.loads(platform.folder.hub("tokens", "list", "--json").out)[-1]["id"]
    assert platform.folder.hub("tokens", "revoke", str(push_token_id)).code == 0
    assert _run(association).code == 2 and association.outbox() == {"delivered": 3, "pending": 1}
    # Meanwhile a donor gives to the association through the platform itself.
    given = {
        "id": "P-1",
        "association_id": "assoc-amal",
        "amount": "50.00",
        "currency": "SYP",
        "donated_at": "2026-10-02T10:00:00+03:00",
        "channel": "platform",
        "status": "received",
    }
    platform_token = platform.token("platform-desk")
    r = httpx.post(
        f"{platform.url}/api/v1/donation/batch", json={"records": [given]}, headers={"Authorization": f"Bearer {platform_token}"}
    )
    assert r.json()["accepted"] == 1
    # The pull brings the platform's donation, and not the association's own three back.
    pulled = json.loads(association.hub("run", "from_platform", "--json").out)["runs"][0]
    assert (pulled["read"], pulled["inserted"], pulled["updated"]) == (1, 1, 0), pulled
    mine = json.loads(association.sql("select data from records where key = 'assoc-amal|D0000001'")[0][0])
    assert Decimal(mine["amount"]) == Decimal("9999"), "the pull rolled the association's correction back"
    # Once the push goes out, both sides hold the correction, and a second pull finds nothing new.
    association.env["PLATFORM_TOKEN"] = platform.token("amal-push-2", "assoc-amal")
    assert _run(association).code == 0
    stored = platform.folder.sql("select data from records where key = 'assoc-amal|D0000001'")[0][0]
    assert Decimal(json.loads(stored)["amount"]) == Decimal("9999")
    again = json.loads(association.hub("run", "from_platform", "--json").out)["runs"][0]
    assert again["read"] == 0


def test_bad_requests_get_clear_answers_and_the_server_keeps_serving(platform):
    platform.start()
    token = platform.token("amal", "assoc-amal")
    url = f"{platform.url}/api/v1/donation/batch"
    auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def post(content, headers=auth):
        return httpx.post(url, content=content, headers=headers, timeout=10)

    r = post(b'{"records": [')
    assert r.status_code == 400 and r.headers["content-type"] == "application/problem+json" and "not valid JSON" in r.json()["detail"]
    # A system that writes its Arabic in Windows-1256 is told so, not "str is not valid UTF-8: surrogates not allowed".
    r = post(json.dumps({"records": [dict(GOOD, description="تبرع")]}, ensure_ascii=False).encode("cp1256"))
    assert r.status_code == 400 and "not UTF-8 from its byte" in r.json()["detail"] and "Windows-1256" in r.json()["detail"], r.text
    r = post(json.dumps({"records": [dict(GOOD, description="تبرع")]}, ensure_ascii=False).encode()[:-4])
    assert r.status_code == 400 and "not valid JSON" in r.json()["detail"], r.text
    r = post(b"x" * 300_000)
    assert r.status_code == 413 and "262144" in r.json()["detail"]
    r = post(json.dumps({"records": [{"id": str(i)} for i in range(201)]}).encode())
    assert r.status_code == 413 and r.json()["errors"][0]["path"] == "records"
    r = post(b'{"rows": []}')
    assert r.status_code == 422 and r.json()["detail"] == 'the body must be a JSON object {"records": [...]}', r.text
    r = post(b'{"record": [{}]}')
    assert r.json()["detail"] == 'the body must be a JSON object {"records": [...]}; did you mean "records"?', r.text
    r = post(b"<xml/>", headers={**auth, "Content-Type": "application/xml"})
    assert r.status_code == 415
    r = post(b'{"records": [{}]}', headers={"Content-Type": "application/json"})
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    r = httpx.post(f"{platform.url}/api/v1/parcel/batch", content=b'{"records": [{}]}', headers=auth)
    assert r.status_code == 404 and "unknown entity" in r.json()["detail"]
    # A version beyond what the store's version column holds (both stores: 32-bit) is refused, not a 500.
    for version in (2**31, 2**63):
        r = post(json.dumps({"records": [dict(GOOD)], "versions": [version]}).encode())
        assert r.status_code == 422 and r.json()["errors"][0]["path"] == "versions", r.text
    # A control character in a key (a NUL, which PostgreSQL cannot store in text) is the record's fault, said in words.
    r = post(json.dumps({"records": [dict(GOOD, id="D\u00001")]}).encode())
    assert r.status_code == 200 and r.json()["rejected"] == 1, r.text
    assert r.json()["results"][0]["errors"][0]["message"].startswith('"D\\u00001" is not a valid identifier: 1 to 120 characters')
    # A chunked body over the limit is cut off while it arrives.
    r = httpx.post(url, content=iter([b"[" + b" " * 100_000] * 4), headers=auth, timeout=10)
    assert r.status_code == 413
    assert "Traceback" not in platform.proc.stderr.read()
    assert httpx.get(f"{platform.url}/healthz").json() == {"status": "ok"}
    good = dict(GOOD)
    r = post(json.dumps({"records": [good]}).encode())
    assert r.status_code == 200 and r.json()["accepted"] == 1


def test_a_gzip_body_is_taken_and_its_limit_holds_for_what_it_inflates_to(platform, association):
    platform.start()
    token = platform.token("amal", "assoc-amal")
    url = f"{platform.url}/api/v1/donation/batch"
    gz = {"Authorization": f"Bearer {token}", "Content-Type": "application/json", "Content-Encoding": "gzip"}
    body = json.dumps({"records": [dict(GOOD, id=f"G{i}") for i in range(3)]}).encode()
    r = httpx.post(url, content=gzip.compress(body), headers=gz)
    assert r.status_code == 200 and r.json()["accepted"] == 3
    bomb = gzip.compress(b'{"records": [' + b" " * 5_000_000 + b"]}")  # 5 MB of spaces in about 5 KB
    assert len(bomb) < 262_144
    r = httpx.post(url, content=bomb, headers=gz)
    assert r.status_code == 413 and "inflates to over 262144 bytes" in r.json()["detail"]
    r = httpx.post(url, content=b"not gzip at all", headers=gz)
    assert r.status_code == 400 and "not valid gzip" in r.json()["detail"]
    r = httpx.post(url, content=gzip.compress(body)[:-12], headers=gz)
    assert r.status_code == 400 and "cut short" in r.json()["detail"]
    r = httpx.post(url, content=body, headers={**gz, "Content-Encoding": "br"})
    assert r.status_code == 415 and "'br'" in r.json()["detail"]
    assert platform.count() == 3
    # The association's hub compresses when told to: everything arrives once, as sent.
    association.configure(platform.url, token, rows=300, batch_size=100, extra="      compress: true\n")
    assert _run(association).code == 0
    assert platform.count() == 303 and association.outbox() == {"delivered": 300}
    name = platform.folder.sql("select data from records where key = ?", ("assoc-amal|D0000007",))[0][0]
    assert json.loads(name)["donor"]["name"] == "محمد أحمد"


def test_an_idempotency_key_reused_for_another_body_or_entity_is_refused(platform):
    platform.start()
    token = platform.token("amal", "assoc-amal")
    rec = dict(GOOD)
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": "k-1"}
    first = httpx.post(f"{platform.url}/api/v1/donation/batch", json={"records": [rec]}, headers=headers)
    again = httpx.post(f"{platform.url}/api/v1/donation/batch", json={"records": [rec]}, headers=headers)
    assert first.json() == again.json() and again.headers["idempotent-replayed"] == "true"
    other = httpx.post(f"{platform.url}/api/v1/donation/batch", json={"records": [dict(rec, amount="11.00")]}, headers=headers)
    assert other.status_code == 422 and "different request body" in other.json()["detail"]
    # The same body to another entity is another request too: never answered with the donation's answer.
    elsewhere = httpx.post(f"{platform.url}/api/v1/distribution/batch", json={"records": [rec]}, headers=headers)
    assert elsewhere.status_code == 422 and "(to donation/batch)" in elsewhere.json()["detail"]
    assert platform.folder.sql("select data from records")[0][0].find('"10.00"') > 0
    assert platform.folder.sql("select count(*) from records") == [(1,)]


def test_a_repeat_is_recognised_whatever_the_order_of_its_keys(platform):
    """A client that serialises its dicts anew on a retry may change their key order: still one request."""
    from hub.services.ingest import legacy_digest

    platform.start()
    token = platform.token("amal", "assoc-amal")
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": "k-order"}
    records = [dict(GOOD, donor={"name": "فاطمة", "type": "individual", "country": "DE"}), {"id": "not a donation"}]
    first = httpx.post(f"{platform.url}/api/v1/donation/batch", json={"records": records, "versions": [3, 1]}, headers=headers)
    assert first.status_code == 200 and [r["status"] for r in first.json()["results"]] == ["accepted", "rejected"]

    def reversed_keys(value):
        return {k: reversed_keys(value[k]) for k in reversed(value)} if isinstance(value, dict) else value

    turned = {"versions": [3, 1], "records": [reversed_keys(r) for r in records]}
    assert json.dumps(turned) != json.dumps({"records": records, "versions": [3, 1]})
    again = httpx.post(f"{platform.url}/api/v1/donation/batch", content=json.dumps(turned), headers=headers)
    assert again.status_code == 200 and again.headers["idempotent-replayed"] == "true" and again.json() == first.json()
    # Another version of the same records is another request.
    other = httpx.post(f"{platform.url}/api/v1/donation/batch", json={"records": records, "versions": [4, 1]}, headers=headers)
    assert other.status_code == 422 and "different request body" in other.json()["detail"]
    # An answer stored by an earlier release, under the digest of the whole body, is still found.
    platform.folder.sql("update api_requests set request_hash = ?", (legacy_digest({"records": records, "versions": [3, 1]}),))
    old = httpx.post(f"{platform.url}/api/v1/donation/batch", json={"records": records, "versions": [3, 1]}, headers=headers)
    assert old.status_code == 200 and old.headers["idempotent-replayed"] == "true" and old.json() == first.json()
    assert platform.folder.sql("select count(*) from audit_log where action = 'api.ingest'") == [(1,)]


def test_a_number_too_long_to_keep_exactly_is_refused_in_words_and_kept_whole(platform):
    """orjson would read a bare 30-digit number as a float: the record would be stored rounded."""
    platform.start()
    token = platform.token("amal", "assoc-amal")
    long, widest = "123456789012345678901234567890", "18446744073709551615"
    body = (
        f'{{"records": [{json.dumps(dict(GOOD, id="D1"))[:-1]}, "extra": {{"card": {long}}}}},'
        f' {json.dumps(dict(GOOD, id="D2"))[:-1]}, "extra": {{"card": {widest}}}}}]}}'
    )
    r = httpx.post(
        f"{platform.url}/api/v1/donation/batch",
        content=body,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json", "Idempotency-Key": "long"},
    )
    assert r.status_code == 200, r.text
    first, second = r.json()["results"]
    assert first["status"] == "rejected" and first["errors"][0]["path"] == "extra.card"
    assert f'send it as text, like "{long}"' in first["errors"][0]["message"]
    assert second["status"] == "accepted"
    assert f'"card":{widest}' in platform.folder.sql("select data from records where key = 'assoc-amal|D2'")[0][0]
    (raw,) = platform.folder.sql("select raw from quarantine where stage = 'api'")[0]
    assert f'"card":{long}' in raw
    q = json.loads(platform.folder.hub("quarantine", "list", "--json").out)
    assert q[0]["raw"]["extra"]["card"] == int(long)
    again = httpx.post(
        f"{platform.url}/api/v1/donation/batch",
        content=body,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json", "Idempotency-Key": "long"},
    )
    assert again.headers["idempotent-replayed"] == "true" and again.json() == r.json()
    other = httpx.post(
        f"{platform.url}/api/v1/donation/batch",
        content=body.replace(long, long + "1"),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json", "Idempotency-Key": "long"},
    )
    assert other.status_code == 422 and "different request body" in other.json()["detail"]


def test_an_older_version_never_rolls_a_record_back(platform):
    platform.start()
    token = platform.token("amal", "assoc-amal")
    rec = dict(GOOD)
    headers = {"Authorization": f"Bearer {token}"}
    url = f"{platform.url}/api/v1/donation/batch"
    assert httpx.post(url, json={"records": [dict(rec, amount="12.00")], "versions": [2]}, headers=headers).json()["accepted"] == 1
    late = httpx.post(url, json={"records": [rec], "versions": [1]}, headers=headers).json()
    assert late["results"][0]["status"] == "unchanged" and "older" in late["results"][0]["note"]
    assert '"12.00"' in platform.folder.sql("select data from records")[0][0]


def test_two_versions_of_a_record_in_one_request_keep_the_newer_whatever_their_order(platform):
    platform.start()
    token = platform.token("amal", "assoc-amal")
    headers = {"Authorization": f"Bearer {token}"}
    url = f"{platform.url}/api/v1/donation/batch"
    newer, older = dict(GOOD, amount="12.00"), dict(GOOD, amount="10.00")
    answer = httpx.post(url, json={"records": [newer, older, dict(GOOD, id="D2")], "versions": [2, 1, 1]}, headers=headers).json()
    assert [r["status"] for r in answer["results"]] == ["accepted"] * 3 and [r["index"] for r in answer["results"]] == [0, 1, 2]
    stored = dict(platform.folder.sql("select key, data from records"))
    assert json.loads(stored["assoc-amal|D1"])["amount"] == "12.00" and len(stored) == 2
    assert platform.folder.sql("select source_version from records where key = 'assoc-amal|D1'") == [(2,)]
    assert [json.loads(d)["amount"] for (d,) in platform.folder.sql("select data from record_history")] == ["10.00"]
    # The audit names each version the request left stored, once.
    (detail,) = platform.folder.sql("select detail from audit_log where action = 'api.ingest'")[0]
    assert json.loads(detail)["written"] == [["assoc-amal|D1", 2], ["assoc-amal|D2", 1]]
    again = httpx.post(url, json={"records": [newer], "versions": [2]}, headers=headers).json()
    assert again["results"][0]["status"] == "unchanged" and "note" not in again["results"][0]


def test_concurrent_pushes_of_the_same_records_each_land_once_and_the_newest_version_wins(platform):
    """Eight senders at once, every one carrying all twenty records at its own version."""
    platform.start()
    token = platform.token("amal", "assoc-amal")
    url = f"{platform.url}/api/v1/donation/batch"

    def send(version: int) -> list[int]:
        statuses = []
        with httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=60) as client:
            for start in range(0, 20, 5):
                records = [dict(GOOD, id=f"D{i}", amount=f"{version}.00") for i in range(start, start + 5)]
                r = client.post(
                    url, json={"records": records, "versions": [version] * 5}, headers={"Idempotency-Key": f"v{version}-{start}"}
                )
                statuses.append(r.status_code)
        return statuses

    with ThreadPoolExecutor(8) as pool:
        statuses = [s for batch in pool.map(send, range(1, 9)) for s in batch]
    assert statuses == [200] * 32
    rows = platform.folder.sql("select key, source_version, data from records")
    assert len(rows) == 20
    assert {(version, json.loads(data)["amount"]) for _key, version, data in rows} == {(8, "8.00")}
    verify = platform.folder.hub("audit", "verify")
    assert verify.code == 0, verify.out + verify.err


def test_the_same_request_sent_twice_at_once_is_applied_once_and_both_get_the_first_answer(platform):
    platform.start()
    token = platform.token("amal", "assoc-amal")
    body = {"records": [dict(GOOD, id=f"D{i}") for i in range(50)], "versions": [1] * 50}
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": "twice-at-once"}
    start = threading.Barrier(6)

    def send(_):
        start.wait(timeout=30)
        return httpx.post(f"{platform.url}/api/v1/donation/batch", json=body, headers=headers, timeout=60)

    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(send, range(6)))
    assert [a.status_code for a in answers] == [200] * 6
    assert all(a.json() == answers[0].json() for a in answers) and answers[0].json()["accepted"] == 50
    assert sorted(a.headers.get("Idempotent-Replayed", "false") for a in answers) == ["false"] + ["true"] * 5
    assert platform.folder.sql("select count(*) from audit_log where action = 'api.ingest'") == [(1,)]
