"""The web admin in a real browser (Chromium through Playwright) against a real ``hub serve``."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import signal
import socket
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import httpx
import yaml
from playwright.sync_api import expect

from tests.conftest import DONATION_RECORD, wait_for


def test_sign_in_see_the_overview_and_run_a_connection(browse, site):
    b = browse().sign_in("admin@wasl.example")
    page = b.page
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    row = page.get_by_role("row").filter(has_text="amal-donations")
    expect(row).to_contain_text("40")  # records in the store
    expect(row).to_contain_text("3")  # open quarantine
    expect(page.locator("svg.chart rect.stored").first).to_be_attached()
    assert b.unlabelled_inputs() == []
    b.shot("overview")

    page.get_by_role("link", name="amal-donations").click()
    expect(page.get_by_text("every day at 02:00").first).to_be_visible()
    page.get_by_role("button", name="Check").click()
    expect(page.get_by_role("status")).to_contain_text("✓")
    # The first rows put through the mapping, nothing stored: 40 of 44 would be, the totals row
    # skipped, 3 not, with why.
    expect(page.locator("section.trial")).to_contain_text(
        "rows 44; would be stored: 40; skipped (not records): 1 (Line 45); would be quarantined: 3"
    )
    expect(page.locator("section.trial")).to_contain_text("'ألف ليرة' is not a number")
    assert b.unlabelled_inputs() == []
    b.shot("connection")
    runs_before = site.folder.sql("select count(*) from runs where connection = 'amal-donations'")[0][0]
    page.get_by_role("button", name="Run now").click()
    expect(page.get_by_role("status")).to_contain_text("Run requested")
    assert wait_for(
        lambda: site.folder.sql("select count(*) from runs where connection = 'amal-donations' and status != 'running'")[0][0] > runs_before
    )
    page.goto("/runs?connection=amal-donations")
    expect(page.get_by_role("cell", name="trigger", exact=True).first).to_be_visible()
    assert b.unlabelled_inputs() == []
    b.shot("runs")
    page.get_by_role("row").filter(has_text="trigger").get_by_role("link").first.click()
    # 44 rows read: 40 stored, 3 quarantined and the totals row skipped (dt and dd read as one text).
    expect(page.locator("dl.counts")).to_contain_text("Read44")
    expect(page.locator("dl.counts")).to_contain_text("Quarantined3")
    expect(page.locator("dl.counts")).to_contain_text("Skipped rows1")
    b.shot("run")


def test_send_again_delivers_what_the_destination_refused_once_it_is_mended(browse, site):
    from hub.testing import Response, TestServer

    with TestServer() as crm:
        # The CRM refuses a donor it does not know yet; once its staff add the donor, it takes the gift.
        mended, taken = [], []

        def donations(req):
            if req.json()["id"] == "AM-2001" and not mended:
                return Response(422, {"detail": "unknown donor"})
            taken.append(req.json()["id"])
            return Response(201, {})

        crm.route("POST", "/donations", donations)
        cfg = yaml.safe_load((site.folder.path / "hub.yaml").read_text(encoding="utf-8"))
        cfg["connections"]["crm"]["settings"] = {"url": crm.url, "retries": 0, "write": {"path": "/donations", "mode": "each"}}
        cfg["connections"]["amal-donations"]["destinations"] = ["crm"]
        site.folder.write("hub.yaml", yaml.safe_dump(cfg, allow_unicode=True, sort_keys=False))
        site.proc.send_signal(signal.SIGHUP)  # the web admin sends with the config as it is now
        with (site.folder.path / "amal_donations.csv").open("a", encoding="utf-8") as f:
            f.write("AM-2001,سامر يوسف,5000,SYP,20/11/2026,نقدي,RF11AMAL2001,\n")
        # A destination added now: it is given the 40 donations stored before, and the new gift,
        # which the CRM refuses: quarantined.
        assert site.folder.hub("run", "amal-donations").code == 1
        assert len(taken) == 40 and "AM-2001" not in taken
        [(entry,)] = site.folder.sql("select id from quarantine where stage = 'deliver' and status = 'open'")
        assert wait_for(lambda: "config reloaded" in site.proc.stderr.read())
        mended.append(True)
        page = browse().sign_in("admin@wasl.example").page
        page.goto(f"/quarantine/{entry}")
        expect(page.locator("ul.errors")).to_contain_text("unknown donor")
        page.get_by_role("button", name="Send again").click()
        expect(page.get_by_role("status")).to_contain_text("Sent: the destination took the record")
    assert taken[40:] == ["AM-2001"]
    assert site.folder.sql(f"select status from quarantine where id = {entry}") == [("replayed",)]


def test_a_json_records_object_is_corrected_as_json(browse, site):
    # A JSON Lines source's donor is an object. The form showed it as Python wrote it
    # ({'name': ...}), and whatever was typed back was stored as text: the record failed again.
    record = {**DONATION_RECORD, "id": "G1", "donor": {"name": "سارة", "acount": "SY1234"}}
    site.folder.write("gifts.jsonl", json.dumps(record, ensure_ascii=False) + "\n")
    cfg = yaml.safe_load((site.folder.path / "hub.yaml").read_text(encoding="utf-8"))
    cfg["connections"]["gifts"] = {"connector": "jsonl", "settings": {"path": "gifts.jsonl"}, "streams": {"g": {"entity": "donation"}}}
    site.folder.write("hub.yaml", yaml.safe_dump(cfg, allow_unicode=True, sort_keys=False))
    site.proc.send_signal(signal.SIGHUP)
    assert site.folder.hub("run", "gifts").code == 1
    [(entry,)] = site.folder.sql("select id from quarantine where connection = 'gifts'")
    assert wait_for(lambda: "config reloaded" in site.proc.stderr.read())
    page = browse().sign_in("admin@wasl.example").page
    page.goto(f"/quarantine/{entry}")
    expect(page.locator("ul.errors")).to_contain_text('"acount" is not a field of donor; did you mean "account"?')
    donor = page.get_by_label("donor")
    expect(donor).to_have_value('{"name":"سارة","acount":"SY1234"}')
    donor.fill('{"name": "سارة", account: SY1234}')
    page.get_by_role("button", name="Replay").click()
    expect(page.get_by_role("alert")).to_contain_text("donor holds an object: write its new value as JSON")
    expect(page.get_by_label("donor")).to_have_value('{"name": "سارة", account: SY1234}')
    page.get_by_label("donor").fill('{"name": "سارة", "account": "SY1234"}')
    page.get_by_role("button", name="Replay").click()
    expect(page.get_by_role("status")).to_contain_text("Stored")
    [(data,)] = site.folder.sql("select data from records where key = 'assoc-amal|G1'")
    assert json.loads(data)["donor"] == {"name": "سارة", "account": "SY1234"}


def test_run_now_while_the_connection_runs_asks_for_nothing(browse, site):
    # A run of amal-donations going on in a live process (this one), heard from just now.
    site.folder.execute(
        "update runs set status = 'running', finished_at = null, worker = ?, heartbeat_at = CURRENT_TIMESTAMP"
        " where id = (select max(id) from runs where connection = 'amal-donations')",
        (f"{socket.gethostname()}:{os.getpid()}",),
    )
    commands = site.folder.sql("select count(*) from schedule_commands")[0][0]
    page = browse().sign_in("admin@wasl.example").page
    page.goto("/connections/amal-donations")
    page.get_by_role("button", name="Run now").click()
    expect(page.get_by_role("status")).to_contain_text("It is running now")
    assert site.folder.sql("select count(*) from schedule_commands")[0][0] == commands, "no run was requested"


def test_edit_a_schedule_with_the_cron_in_words(browse, site):
    page = browse().sign_in("admin@wasl.example").page
    page.goto("/connections/amal-donations")
    page.get_by_label("Cron expression").fill("30 6 * * 1")
    expect(page.locator("#cron-words")).to_have_text("at 06:30, only on Monday")
    page.get_by_role("button", name="Save schedule").click()
    expect(page.get_by_role("status")).to_contain_text("Schedule saved")
    expect(page.get_by_text("at 06:30, only on Monday").first).to_be_visible()
    listed = json.loads(site.folder.hub("schedule", "list", "--json").out)
    assert [s["when"] for s in listed if s["connection"] == "amal-donations"] == ["cron 30 6 * * 1 (Asia/Damascus)"]
    page.get_by_role("button", name="Pause").click()
    expect(page.get_by_role("status")).to_contain_text("Schedule paused")
    status = json.loads(site.folder.hub("status", "--json").out)
    assert next(s for s in status if s["connection"] == "amal-donations")["paused"] is True
    page.get_by_role("button", name="Resume").click()
    expect(page.get_by_role("status")).to_contain_text("Schedule resumed")
    status = json.loads(site.folder.hub("status", "--json").out)
    assert next(s for s in status if s["connection"] == "amal-donations")["paused"] is False
    page.get_by_label("Cron expression").fill("61 * * * *")
    page.get_by_role("button", name="Save schedule").click()
    expect(page.get_by_role("alert")).to_contain_text("is not a cron expression")


def test_fix_and_replay_a_quarantined_record(browse, site):
    b = browse().sign_in("admin@wasl.example")
    page = b.page
    page.goto("/quarantine")
    assert b.unlabelled_inputs() == []
    b.shot("quarantine")
    page.get_by_role("row").filter(has_text="is not a number").get_by_role("link").first.click()
    amount = page.get_by_label("المبلغ")
    expect(amount).to_have_value("ألف ليرة")
    assert b.unlabelled_inputs() == []
    b.shot("entry")
    # A fix that is still wrong: the form comes back as the admin left it, with why it fails now.
    amount.fill("ألفان")
    page.get_by_role("button", name="Replay").click()
    expect(page.get_by_role("alert")).to_contain_text("Still invalid")
    expect(page.locator("ul.errors")).to_contain_text("'ألفان' is not a number")
    amount = page.get_by_label("المبلغ")
    expect(amount).to_have_value("ألفان")
    assert site.folder.sql("select count(*) from quarantine where status = 'open' and raw like ?", ("%ألف ليرة%",)) == [(1,)], (
        "the stored payload is still what the source sent"
    )
    amount.fill("1000")
    page.get_by_role("button", name="Replay").click()
    expect(page.get_by_role("status")).to_contain_text("Stored")
    stored = site.folder.sql("select data from records where key = 'assoc-amal|AM-1041'")
    assert stored and json.loads(stored[0][0])["amount"] == "1000"
    assert site.folder.sql("select action from audit_log where action = 'quarantine.replay'") == [("quarantine.replay",)]
    # The entry keeps the amount as the source sent it beside the corrected one stored.
    [(entry_id,)] = site.folder.sql("select id from quarantine where raw like ?", ("%ألف ليرة%",))
    page.goto(f"/quarantine/{entry_id}")
    expect(page.locator("#corrected")).to_contain_text('"1000"')
    expect(page.locator("pre").first).to_contain_text("ألف ليرة")
    # Settled: said so, with when and why, and nothing left to press.
    expect(page.locator("#closed")).to_contain_text("replayed")
    expect(page.locator("#closed")).to_contain_text("stored after replay")
    expect(page.get_by_role("button", name="Replay")).to_have_count(0)
    expect(page.get_by_role("button", name="Dismiss")).to_have_count(0)
    page.goto("/quarantine")
    # Another one is not worth fixing: dismissed, with the reason kept.
    page.get_by_role("row").filter(has_text="بيروت").get_by_role("link").first.click()
    page.get_by_label("Reason").fill("not in Syria: recorded by mistake")
    page.get_by_role("button", name="Dismiss").click()
    expect(page.get_by_role("status")).to_contain_text("Dismissed")
    expect(page.get_by_role("row").filter(has_text="بيروت")).to_have_count(0)
    assert site.folder.sql("select status, reason from quarantine where raw like ?", ("%بيروت%",)) == [
        ("dismissed", "not in Syria: recorded by mistake")
    ]


def test_a_correction_sheet_goes_to_the_association_and_comes_back_through_the_web(browse, site, tmp_path):
    import openpyxl

    # The association's accountant: the sheet holds only their association's rows.
    amal = browse("amal").sign_in("amal@wasl.example")
    amal.page.goto("/quarantine")
    with amal.page.expect_download() as got:
        amal.page.locator("#sheet-download").click()
    assert got.value.suggested_filename == "corrections.xlsx"
    got.value.save_as(tmp_path / "corrections.xlsx")
    book = openpyxl.load_workbook(tmp_path / "corrections.xlsx")
    sheet = book.active
    header = [c.value for c in sheet[1]]
    connections = {row[1].value for row in sheet.iter_rows(min_row=2)}
    assert header[0] == "quarantine id" and connections == {"amal-donations"}, connections
    amount = header.index("المبلغ")
    [row] = [r for r in sheet.iter_rows(min_row=2) if r[amount].value == "ألف ليرة"]
    row[amount].value = "1000"
    # An entry that is not theirs, named by its id: said to be no entry here, and left alone.
    [(other,)] = site.folder.sql("select min(id) from quarantine where connection <> 'amal-donations'")
    sheet.append([other, "birr-distributions", 2, "", *["changed"] * (len(header) - 4)])
    book.save(tmp_path / "corrected.xlsx")
    amal.page.set_input_files("#sheet", str(tmp_path / "corrected.xlsx"))
    assert amal.unlabelled_inputs() == []
    amal.page.locator("#sheet-upload").click()
    expect(amal.page.locator("#imported")).to_contain_text("Replayed: 1")
    stored = site.folder.sql("select data from records where key = 'assoc-amal|AM-1041'")
    assert stored and json.loads(stored[0][0])["amount"] == "1000"
    expect(amal.page.locator("#imported")).to_contain_text(f"no quarantine entry {other} in this hub")
    assert site.folder.sql("select status, corrected from quarantine where id = ?", (other,)) == [("open", None)]
    # Something that is not a correction sheet is refused with the file's own name.
    (tmp_path / "notes.txt").write_text("hello", encoding="utf-8")
    amal.page.set_input_files("#sheet", str(tmp_path / "notes.txt"))
    amal.page.locator("#sheet-upload").click()
    expect(amal.page.get_by_role("alert")).to_contain_text("notes.txt: upload the .xlsx or .csv file")


def test_confirm_a_suggestion_with_one_key(browse, site):
    b = browse().sign_in("admin@wasl.example")
    page = b.page
    page.goto("/reconcile")
    expect(page.locator("dd.hit").first).to_be_visible()  # what matched is highlighted
    expect(page.get_by_text("NOUR ALHUDA")).to_be_visible()
    b.shot("review")
    page.keyboard.press("c")
    expect(page.get_by_role("status")).to_contain_text("Confirmed")
    assert site.folder.sql("select status, decided_by from matches where rule = 'amount_name'") == [("confirmed", "web:admin@wasl.example")]
    expect(page.get_by_text("No suggestion waits for a person.")).to_be_visible()
    report = page.request.get("/reconcile/report.xlsx")
    assert report.status == 200 and report.body()[:2] == b"PK"


_COLUMNS = "transaction_key, transaction_id, donation_keys, kind, rule, score, status, allocations, evidence, decided_by, reason, created_at, decided_at"


def test_a_suggestion_made_after_a_hundred_thousand_decisions_still_waits_for_review(browse, site):
    # A year of confirmed transfers before it: the page read the first 100,000 decisions to
    # find the ones waiting, so a later suggestion was never shown and the counts stopped there.
    site.folder.execute(
        f"INSERT INTO matches ({_COLUMNS}) "
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000) "
        "SELECT 'old|T' || i, 'T' || i, '[\"assoc-amal|OLD' || i || '\"]', 'full', 'reference', 0.98, 'confirmed', '[]', '{}', "
        "'auto:reference', NULL, m.created_at, m.created_at FROM n, (SELECT created_at FROM matches ORDER BY id LIMIT 1) m"
    )
    site.folder.execute(f"INSERT INTO matches ({_COLUMNS}) SELECT {_COLUMNS} FROM matches WHERE status = 'suggested'")
    site.folder.execute("DELETE FROM matches WHERE status = 'suggested' AND id < (SELECT max(id) FROM matches)")
    [(confirmed,)] = site.folder.sql("select count(*) from matches where status = 'confirmed'")
    assert confirmed > 100_000

    for who in ("admin@wasl.example", "amal@wasl.example"):
        page = browse().sign_in(who).page
        page.goto("/reconcile")
        expect(page.get_by_text("NOUR ALHUDA")).to_be_visible()
        expect(page.locator("main")).to_contain_text(f"{confirmed:,}")


def test_a_long_quarantine_is_shown_a_page_at_a_time_with_how_many_wait(browse, site):
    # The page showed the oldest 500 entries and nothing else: 1,200 waiting looked like 500.
    columns = "run_id, connection, stream, entity, stage, line, raw, raw_hash, errors, status, created_at"
    site.folder.execute(
        f"INSERT INTO quarantine ({columns}) "
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1200) "
        "SELECT q.run_id, q.connection, q.stream, q.entity, q.stage, 1000 + i, q.raw, q.raw_hash, q.errors, 'open', q.created_at "
        "FROM n, (SELECT * FROM quarantine WHERE connection = 'amal-donations' ORDER BY id LIMIT 1) q"
    )
    [(waiting,)] = site.folder.sql("select count(*) from quarantine where status = 'open'")
    page = browse().sign_in("admin@wasl.example").page
    page.goto("/quarantine")
    expect(page.locator("p.totals")).to_contain_text(f"Waiting: {waiting:,} · shown here: 500")
    seen = page.locator("tbody tr").count()
    while page.get_by_role("link", name="Later entries").count():
        page.get_by_role("link", name="Later entries").click()
        # The click returns once the next page starts to arrive: counted before it is all
        # parsed, a busy machine's page had 401 of its 500 rows.
        page.wait_for_load_state("load")
        seen += page.locator("tbody tr").count()
    assert seen == waiting, "every entry is on one page or another, none twice"


def test_reject_a_suggestion_from_the_keyboard_only(browse, site):
    page = browse().sign_in("admin@wasl.example").page
    page.goto("/reconcile")
    page.get_by_role("button", name="Reject").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_contain_text("Rejected")
    assert site.folder.sql("select status from matches where rule = 'amount_name'") == [("rejected",)]


def test_arabic_pages_are_right_to_left_and_translated(browse, site):
    b = browse("ar").sign_in("admin@wasl.example")
    page = b.page
    page.get_by_role("link", name="العربية").click()
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    expect(page.locator("html")).to_have_attribute("lang", "ar")
    expect(page.get_by_role("heading", name="نظرة عامة")).to_be_visible()
    expect(page.get_by_role("link", name="الحجر")).to_be_visible()
    expect(page.get_by_role("row").filter(has_text="amal-donations")).to_contain_text("٤٠")  # Arabic-Indic digits
    # The chart's days too (they were the only Latin digits on the page), today on the left.
    expect(page.locator("svg.chart text.label").first).to_have_text(re.compile("^[٠-٩]{1,2}\u200f?/[٠-٩]{1,2}\u200f?/٢٠٢[٠-٩]$"))
    b.shot("overview")
    page.goto("/connections/amal-donations")
    expect(page.get_by_text("كل يوم في الساعة ٠٢:٠٠").first).to_be_visible()
    b.shot("connection")
    page.goto("/reconcile")
    expect(page.get_by_role("button", name=re.compile("تأكيد"))).to_be_visible()
    b.shot("review")
    page.goto("/records?entity=distribution")
    expect(page.get_by_role("heading", name="ملخص حسب المحافظة")).to_be_visible()
    assert b.unlabelled_inputs() == []
    b.shot("records")


def test_an_association_user_sees_only_its_own_association(browse, site):
    b = browse().sign_in("amal@wasl.example")
    page = b.page
    expect(page.get_by_role("link", name="amal-donations")).to_be_visible()
    expect(page.get_by_role("link", name="birr-distributions")).to_have_count(0)
    b.shot("overview")
    birr_run = site.folder.sql("select id from runs where connection = 'birr-distributions'")[0][0]
    birr_entry = site.folder.sql("select id from quarantine where connection = 'birr-distributions'")[0][0]
    for path in ("/connections/birr-distributions", f"/runs/{birr_run}", f"/quarantine/{birr_entry}", "/connections/associations"):
        response = page.goto(path)
        assert response.status == 404, path
        expect(page.get_by_role("heading", name="Not found")).to_be_visible()
    b.shot("refused")
    page.goto("/records?entity=distribution")
    expect(page.get_by_role("cell", name=re.compile("assoc-birr"))).to_have_count(0)
    page.goto("/quarantine")
    expect(page.get_by_role("cell", name="birr-distributions")).to_have_count(0)
    # Forms refused without the session's CSRF token, even for one's own connection.
    cookies = {c["name"]: c["value"] for c in b.context.cookies()}
    r = httpx.post(f"{site.url}/connections/amal-donations/run", cookies=cookies, data={"csrf": "forged"}, follow_redirects=False)
    assert r.status_code == 403
    session = next(c for c in b.context.cookies() if c["name"] == "wasl_session")
    assert session["httpOnly"] and session["sameSite"] == "Lax"


def test_the_overview_shows_what_waits_to_be_sent_and_why(browse, site):
    # Two versions the CRM has not taken: its last try failed with a 503 (as drain would mark them).
    for n in (1, 2):
        site.folder.execute(
            "insert into outbox (destination, entity, key, version, idempotency_key, payload, status, attempts, last_error,"
            " next_attempt_at, created_at) values ('crm', 'donation', ?, 1, ?, '{}', 'pending', 3, ?, ?, ?)",
            (
                f"assoc-amal|AM-{n}",
                f"k{n}",
                "crm.example.org/api/donations answered 503 (6 tries)",
                "2026-10-01 09:00:00.000000",
                "2026-10-01 08:00:00.000000",
            ),
        )
    b = browse().sign_in("admin@wasl.example")
    row = b.page.get_by_role("row").filter(has_text="crm")
    expect(row).to_contain_text("2")
    expect(row).to_contain_text("answered 503")
    expect(b.page.get_by_role("row").filter(has_text="amal-donations").get_by_role("cell").last).to_have_text("0")
    b.shot("overview-waiting")
    b.page.goto("/lang/ar?next=/")
    expect(b.page.get_by_role("columnheader", name="بانتظار الإرسال")).to_be_visible()


def test_the_overview_says_when_scheduled_slots_were_skipped(browse, site):
    # A run ran long; four slots of the schedule found it running, kept as one skipped run (hub serve's skip_slot).
    runs = "insert into runs (connection, trigger, scheduled_for, status, started_at, finished_at, read, valid, inserted, updated, unchanged, quarantined, delivered, delivery_failed, attempts, flags) values ('amal-donations', 'schedule', ?, ?, ?, ?, 0, 0, 0, 0, 0, 0, 0, 0, ?, ?)"
    site.folder.execute(
        runs, ("2026-10-01 08:00:00.000000", "succeeded", "2026-10-01 08:00:00.000000", "2026-10-01 08:05:00.000000", 0, None)
    )
    [(long_run,)] = site.folder.sql("select max(id) from runs")
    note = f'["4 slots skipped: run {long_run} was still running"]'
    site.folder.execute(
        runs, ("2026-10-01 08:04:00.000000", "skipped", "2026-10-01 08:01:00.000000", "2026-10-01 08:04:00.000000", 4, note)
    )
    b = browse().sign_in("admin@wasl.example")
    row = b.page.get_by_role("row").filter(has_text="amal-donations")
    expect(row.get_by_role("link", name="succeeded")).to_be_visible()  # the last run is the one that ran
    expect(row).to_contain_text("Slots skipped: 4 since")
    row.get_by_role("link", name="Slots skipped: 4").click()
    expect(b.page.get_by_text(f"4 slots skipped: run {long_run} was still running")).to_be_visible()
    expect(b.page.locator("dl")).to_contain_text("First skipped")  # no counts: nothing ran
    expect(b.page.locator("dl")).not_to_contain_text("Inserted")
    b.shot("overview-skipped")
    b.page.goto("/lang/ar?next=/")
    expect(b.page.get_by_role("row").filter(has_text="amal-donations")).to_contain_text("مواعيد متخطّاة: ٤")


def test_platform_staff_see_what_the_api_refused_and_can_only_dismiss_it(browse, site):
    token = json.loads(site.folder.hub("tokens", "create", "amal-push", "--association", "assoc-amal", "--write", "--json").out)["token"]
    bad = {"id": "W-1", "association_id": "assoc-amal", "amount": "ألف", "currency": "SYP", "donor": {"name": "فاطمة علي"}}
    r = httpx.post(f"{site.url}/api/v1/donation/batch", json={"records": [bad]}, headers={"Authorization": f"Bearer {token}"})
    assert r.json()["rejected"] == 1
    entry_id = site.folder.sql("select id from quarantine where connection = 'api:amal-push'")[0][0]
    b = browse().sign_in("admin@wasl.example")
    b.page.goto("/quarantine")
    expect(b.page.get_by_role("row").filter(has_text="api:amal-push")).to_contain_text("amount")
    b.page.goto(f"/quarantine/{entry_id}")
    expect(b.page.get_by_text("the sending hub fixes the record")).to_be_visible()
    expect(b.page.locator("pre")).to_contain_text("فاطمة علي")  # the raw record, Arabic as sent
    expect(b.page.locator("#replay")).to_have_count(0)
    b.shot("api-entry")
    b.page.get_by_label("Reason").fill("asked the association to resend")
    b.page.get_by_role("button", name="Dismiss").click()
    expect(b.page.get_by_role("status")).to_be_visible()
    assert site.folder.sql("select status from quarantine where id = ?", (entry_id,)) == [("dismissed",)]
    # An association's own staff do not browse the platform's API quarantine.
    other = browse("amal").sign_in("amal@wasl.example")
    assert other.page.goto(f"/quarantine/{entry_id}").status == 404


def test_platform_staff_issue_a_token_see_its_secret_once_and_revoke_it(browse, site):
    b = browse().sign_in("admin@wasl.example")
    page = b.page
    page.get_by_role("link", name="Tokens").click()
    expect(page.get_by_role("heading", name="API tokens")).to_be_visible()
    assert b.unlabelled_inputs() == []
    page.get_by_label("Name").fill("amal-hub")
    page.get_by_label("Association id").fill("assoc-amal")
    page.get_by_label("May push records").check()
    page.get_by_label("Expires in").fill("90")
    page.get_by_role("button", name="Create token").click()
    secret = page.locator("#new-secret").inner_text()
    assert secret.startswith("wh_")
    expect(page.get_by_role("alert")).to_have_count(0)  # assoc-amal is in the register
    b.shot("created")
    # The secret works at once on this hub's API, for that association only, until it expires.
    api = {"Authorization": f"Bearer {secret}"}
    me = httpx.get(f"{site.url}/api/v1/token", headers=api).json()
    assert (me["name"], me["association_id"], me["read"], me["write"]) == ("amal-hub", "assoc-amal", True, True)
    assert me["expires_at"] is not None
    actor = site.folder.sql("select actor from audit_log where action = 'token.create'")
    assert actor == [("web:admin@wasl.example",)]
    # Shown once: the list names it by its first characters, never in full.
    page.goto("/tokens")
    expect(page.locator("#new-secret")).to_have_count(0)
    assert secret not in page.content() and secret[:10] in page.content()
    # A lifetime past any calendar is refused in words, not with a server error.
    page.get_by_label("Name").fill("forever")
    page.get_by_label("Expires in").fill("99999999")
    page.get_by_role("button", name="Create token").click()
    expect(page.get_by_role("alert")).to_contain_text("1 to 3650")
    expect(page.get_by_label("Expires in")).to_have_value("99999999")  # kept, to correct
    page.get_by_label("Expires in").fill("")
    # A name already given is refused in words, and what was typed stays in the form.
    page.get_by_label("Name").fill("amal-hub")
    page.get_by_label("The platform").check()
    page.get_by_role("button", name="Create token").click()
    expect(page.get_by_role("alert")).to_contain_text("a token named 'amal-hub' exists already")
    expect(page.get_by_label("The platform")).to_be_checked()
    assert site.folder.sql("select count(*) from api_tokens") == [(1,)]
    page.get_by_role("button", name="Revoke amal-hub").click()
    expect(page.get_by_role("status")).to_contain_text("Token revoked")
    assert httpx.get(f"{site.url}/api/v1/token", headers=api).status_code == 401
    b.shot("revoked")
    # A misspelt association is made all the same (the register may lag) but said at once.
    page.get_by_label("Name").fill("typo")
    page.get_by_label("One association").check()
    page.get_by_label("Association id").fill("asoc-amal")
    page.get_by_role("button", name="Create token").click()
    expect(page.get_by_role("alert")).to_contain_text("This hub's register holds no association with this id")
    page.goto("/lang/ar?next=/tokens")
    expect(page.get_by_role("heading", name="رموز الواجهة البرمجية")).to_be_visible()
    b.shot("ar")
    # An association's staff neither see the page nor reach it.
    amal = browse("amal").sign_in("amal@wasl.example")
    expect(amal.page.get_by_role("link", name="Tokens")).to_have_count(0)
    assert amal.page.goto("/tokens").status == 404
    cookies = {c["name"]: c["value"] for c in amal.context.cookies()}
    forged = httpx.post(f"{site.url}/tokens", cookies=cookies, data={"name": "x", "scope": "platform", "read": "1"}, follow_redirects=False)
    assert forged.status_code == 404 and site.folder.sql("select count(*) from api_tokens") == [(2,)], "amal-hub and typo only"


def test_platform_staff_read_the_audit_log_and_have_its_chain_checked(browse, site):
    # A push of 30 gifts through the API: its entry names every record, too long for a row.
    token = json.loads(site.folder.hub("tokens", "create", "amal-push", "--association", "assoc-amal", "--write", "--json").out)["token"]
    gifts = [{**DONATION_RECORD, "id": f"W-{n}"} for n in range(30)]
    r = httpx.post(f"{site.url}/api/v1/donation/batch", json={"records": gifts}, headers={"Authorization": f"Bearer {token}"})
    assert r.json()["accepted"] == 30, r.text
    b = browse().sign_in("admin@wasl.example")
    page = b.page
    page.get_by_role("link", name="Audit log").click()
    push = page.get_by_role("row").filter(has_text="api.ingest")
    expect(push).to_contain_text("token:amal-push")
    expect(push.locator("summary")).not_to_contain_text("assoc-amal|W-29")  # cut to a line...
    expect(push.locator("pre")).to_be_hidden()
    push.locator("summary").click()
    expect(push.locator("pre")).to_be_visible()
    expect(push.locator("pre")).to_contain_text("assoc-amal|W-29")  # ...and whole when opened
    page.get_by_role("button", name="Check the whole chain").click()
    expect(page.get_by_role("status")).to_contain_text("Intact")
    [(head,)] = site.folder.sql("select hash from audit_log order by id desc limit 1")
    expect(page.get_by_role("status")).to_contain_text(head)
    b.shot("intact")
    # Someone with the database's password edits an entry: the check names where the chain breaks.
    [(entry,)] = site.folder.sql("select id from audit_log where action = 'token.create'")
    site.folder.execute("update audit_log set actor = 'web:nobody' where id = ?", (entry,))
    page.goto("/audit?verify=true")
    expect(page.get_by_role("alert")).to_contain_text(f"Broken at entry {entry}")
    page.goto("/lang/ar?next=/audit")
    expect(page.get_by_role("heading", name="سجل التدقيق")).to_be_visible()
    # An association's staff neither see the page nor reach it.
    amal = browse("amal").sign_in("amal@wasl.example")
    expect(amal.page.get_by_role("link", name="Audit log")).to_have_count(0)
    assert amal.page.goto("/audit").status == 404


def test_signing_out_ends_the_session(browse, site):
    b = browse().sign_in("amal@wasl.example")
    cookies = {c["name"]: c["value"] for c in b.context.cookies()}
    b.page.get_by_role("button", name="Sign out").click()
    b.page.wait_for_url(re.compile("/login"))
    r = httpx.get(f"{site.url}/", cookies=cookies, follow_redirects=False)
    assert r.status_code == 303 and "/login" in r.headers["location"]
    b.page.goto("/login")
    b.page.get_by_label("E-mail").fill("amal@wasl.example")
    b.page.get_by_label("Password").fill("wrong password")
    b.page.get_by_role("button", name="Sign in").click()
    expect(b.page.get_by_role("alert")).to_contain_text("wrong")


def test_a_running_run_updates_itself_on_the_page(browse, site):
    page = browse().sign_in("admin@wasl.example").page
    site.folder.execute(
        "insert into runs (connection, trigger, scheduled_for, status, started_at, read, valid, inserted, updated, unchanged, quarantined, delivered, delivery_failed, attempts)"
        " values ('amal-donations', 'manual', '2026-11-29 10:00:00', 'running', '2026-11-29 10:00:00', 100, 0, 0, 0, 0, 0, 0, 0, 0)"
    )
    run_id = site.folder.sql("select max(id) from runs")[0][0]
    page.goto(f"/runs/{run_id}")
    expect(page.locator("dl.counts")).to_contain_text("running")
    site.folder.execute("update runs set status = 'succeeded', read = 5000, finished_at = '2026-11-29 10:01:00' where id = ?", (run_id,))
    expect(page.locator("dl.counts")).to_contain_text("5,000", timeout=10_000)  # no reload: the page asked for itself
    expect(page.locator("dl.counts")).to_contain_text("succeeded")


def test_records_filter_and_the_summary_by_governorate(browse, site):
    b = browse()
    page = b.sign_in("admin@wasl.example").page
    page.goto("/records?entity=distribution")
    summary = page.locator("section.card table")
    expect(summary).to_contain_text("SY07")
    page.get_by_label("Governorate").fill("SY07")
    page.get_by_role("button", name="Filter").click()
    rows = page.locator("main > table tbody tr")
    expect(rows.first).to_contain_text("SY07")
    texts = rows.all_inner_texts()
    assert len(texts) == 4 and all("SY07" in t for t in texts)
    # The summary adds up what the table lists: SY07 alone, its four distributions.
    lines = summary.locator("tbody tr")
    expect(lines).to_have_count(1)
    expect(lines.first).to_contain_text("SY07")
    expect(lines.first.locator("td").first).to_have_text("4")
    assert b.unlabelled_inputs() == []
    b.shot("records")


def test_the_summary_by_governorate_is_on_the_first_page_and_the_next_pages_link_back_to_it(browse, site):
    # It adds up every record the filters select: worked out again for every next page, a
    # platform's 200,000 distributions cost a second a page for the same table.
    columns = "entity, key, association_id, data, hash, version, connection, run_id, created_at, updated_at, change_seq"
    for copy in range(3):
        site.folder.execute(
            f"INSERT INTO records ({columns}) SELECT entity, key || '-copy{copy}', association_id, data, hash, version, connection, "
            "run_id, created_at, updated_at, change_seq FROM records WHERE entity = 'distribution' AND key NOT LIKE ?",
            ("%-copy%",),
        )
    [(total,)] = site.folder.sql("select count(*) from records where entity = 'distribution'")
    assert total == 100
    b = browse()
    page = b.sign_in("admin@wasl.example").page
    page.goto("/records?entity=distribution")
    summary = page.locator("section.card table tbody tr")
    expect(summary.first).to_be_visible()
    counts = [int(c.replace(",", "")) for c in summary.locator("td:nth-child(2)").all_inner_texts()]
    assert sum(counts) == total
    page.get_by_role("link", name="Next page").click()
    expect(page.locator("main > table tbody tr").first).to_be_visible()
    expect(page.locator("section.card")).to_have_count(0)
    page.get_by_role("link", name="Summary by governorate").click()
    expect(page.locator("section.card table tbody tr").first).to_be_visible()
    assert "after=" not in page.url and "entity=distribution" in page.url


def test_the_account_page_adds_up_money_and_aid_within_the_users_scope_and_in_arabic(browse, site):
    b = browse("association")
    page = b.sign_in("amal@wasl.example").page
    page.get_by_role("link", name="Money and aid").click()
    gifts = page.locator("#money-in tbody tr").first
    expect(gifts).to_contain_text("All")
    expect(gifts.locator("td").first).to_have_text("40")  # amal's donations
    expect(page.locator("#aid-out tbody tr").first.locator("td").first).to_have_text("0")  # birr's distributions are not amal's
    expect(page.get_by_label("Association")).to_have_count(0)  # an association's staff see their own account only
    assert b.unlabelled_inputs() == []
    b.shot("account")

    b = browse("platform")
    page = b.sign_in("admin@wasl.example").page
    page.goto("/lang/ar?next=/account")
    expect(page.get_by_role("heading", name="الأموال والمساعدات", exact=True)).to_be_visible()
    aid = page.locator("#aid-out")
    expect(aid.locator("tbody tr").first.locator("td").first).to_have_text("٢٥")
    expect(aid).to_contain_text("الأمن الغذائي")  # sectors and governorates by their Arabic names
    expect(aid).to_contain_text("إدلب (SY07)")
    expect(page.locator("#money-in")).to_contain_text("تحويل مصرفي")
    page.get_by_label("البرنامج").fill("PRG-FOOD-26")
    page.get_by_role("button", name="تصفية").click()
    programs = page.locator("#programs tbody tr")
    expect(programs).to_have_count(1)
    expect(programs.first).to_contain_text("PRG-FOOD-26")
    expect(programs.first).to_contain_text("السلال الغذائية والمساعدات الأساسية 2026")  # its title, as the association wrote it
    expect(programs.first).to_contain_text("٧٬٥٠٠٬٠٠٠ SYP")  # its target
    expect(programs.first.locator("td").nth(5)).to_have_text("١٨")  # its distributions
    b.shot("account-ar")
    # The 3W of what the page shows (the program's distributions), HXL-tagged, for Excel or HDX.
    with page.expect_download() as got:
        page.locator("#three-w").click()
    written = Path(got.value.path()).read_bytes()
    assert written.startswith(b"\xef\xbb\xbf"), "the mark Excel needs to read Arabic as UTF-8"
    headers, tags, *rows = list(csv.reader(io.StringIO(written[3:].decode("utf-8"))))
    assert headers[tags.index("#adm1+code")] == "رمز المحافظة", "headers in the page's language, under the same hashtags"
    assert sum(int(row[tags.index("#activity+num")]) for row in rows) == 18, "the program's distributions, as the page counts them"
    # The same program as an IATI activity, for a funder's tools: its target, its aid by month.
    with page.expect_download() as got:
        page.locator("#iati").click()
    activities = ElementTree.fromstring(Path(got.value.path()).read_bytes()).findall("iati-activity")
    assert [a.findtext("iati-identifier") for a in activities] == ["assoc-birr-PRG-FOOD-26"]
    assert activities[0].findtext("budget/value") == "7500000"
    assert {t.find("transaction-type").get("code") for t in activities[0].findall("transaction")} == {"4"}, "the value of its aid"


def test_settings_never_show_a_secret(browse, site):
    page = browse().sign_in("admin@wasl.example").page
    page.goto("/connections/crm")
    settings = page.locator("dl.settings")
    expect(settings).to_contain_text("X-Api-Key")
    expect(settings).to_contain_text("crm.example.org")
    expect(page.locator("main")).to_contain_text("Records sent here go through: drop_donor_contact")
    html = page.content()
    for secret in ("literal-api-key-123", "crm-password", "crm-user"):
        assert secret not in html


def test_guessing_passwords_is_stopped_after_five_tries(browse, site):
    page = browse().page
    for attempt in range(6):
        page.goto("/login")
        page.get_by_label("E-mail").fill("admin@wasl.example")
        page.get_by_label("Password").fill(f"guess number {attempt}")
        page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("Too many failed attempts")
    page.goto("/login")
    page.get_by_label("E-mail").fill("admin@wasl.example")
    page.get_by_label("Password").fill("platform-pass-1")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("Too many failed attempts")  # even the right password, for now


def test_pages_forbid_framing_and_foreign_scripts_and_the_api_does_not_carry_page_headers(site):
    for path in ("/login", "/static/app.css", "/no-such-page"):
        r = httpx.get(f"{site.url}{path}")
        assert r.headers["X-Frame-Options"] == "DENY", path
        assert r.headers["X-Content-Type-Options"] == "nosniff", path
        assert r.headers["Referrer-Policy"] == "same-origin", path
        assert "script-src 'self'" in r.headers["Content-Security-Policy"], path
    api = httpx.get(f"{site.url}/api/v1/schema/donation")
    assert api.status_code == 200
    assert "X-Frame-Options" not in api.headers and "Content-Security-Policy" not in api.headers


def test_a_nul_character_in_an_address_or_a_form_is_refused_in_words_and_signing_in_still_works(site):
    """PostgreSQL holds no U+0000 in text: a NUL typed into a form or a link was a 500 there."""
    from tests.web.conftest import PASSWORDS

    client = httpx.Client(base_url=site.url, follow_redirects=True)
    csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text).group(1)
    refused = client.post("/login", data={"email": "admin@wasl.example\x00", "password": "x", "csrf": csrf})
    assert refused.status_code == 400 and "the form holds a NUL character" in refused.text
    signed_in = client.post("/login", data={"email": "admin@wasl.example", "password": PASSWORDS["admin@wasl.example"], "csrf": csrf})
    assert signed_in.status_code == 200 and signed_in.url.path == "/"
    for path in ("/records?governorate=SY01%00", "/runs?connection=amal%00", "/connections/amal%00"):
        r = client.get(path)
        assert r.status_code == 400 and "the address holds a NUL character" in r.text, path
    entry = json.loads(site.folder.hub("quarantine", "list", "--json").out)[0]["id"]
    csrf = re.search(r'name="csrf" value="([^"]+)"', client.get(f"/quarantine/{entry}").text).group(1)
    dismissed = client.post(f"/quarantine/{entry}/dismiss", data={"reason": "a typo\x00", "csrf": csrf})
    assert dismissed.status_code == 400
    assert json.loads(site.folder.hub("quarantine", "show", str(entry), "--json").out)["status"] == "open"
    api = httpx.get(f"{site.url}/api/v1/donation", params={"association": "assoc-amal\x00"})
    assert api.status_code == 400 and api.headers["content-type"] == "application/problem+json"
    # A form is read whole to be looked at, so it has a size; the API's bodies are left to the API.
    huge = client.post("/login", content=b"email=" + b"a" * 2_000_000, headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert huge.status_code == 413
    form_to_api = httpx.post(
        f"{site.url}/api/v1/donation/batch", content=b"a=1", headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert form_to_api.status_code == 401  # the API's own answer: no token
    assert "Traceback" not in site.proc.stderr.read()
    assert client.get("/records?governorate=SY01").status_code == 200  # the server kept serving


def test_an_admin_with_a_long_e_mail_address_can_act_and_is_named_whole_in_the_audit(site):
    """The actor is "web:<e-mail>"; PostgreSQL holds a column to its length, and addresses run to 200 characters."""
    email = f"{'a' * 60}@{'b' * 80}.example.org"
    made = site.folder.hub("users", "create", email, "--name", "Long", "--platform", "--password-stdin", input="long-pass-123\n")
    assert made.code == 0, made.err
    client = httpx.Client(base_url=site.url, follow_redirects=True)
    csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text).group(1)
    assert client.post("/login", data={"email": email, "password": "long-pass-123", "csrf": csrf}).url.path == "/"
    entry = json.loads(site.folder.hub("quarantine", "list", "--json").out)[0]["id"]
    csrf = re.search(r'name="csrf" value="([^"]+)"', client.get(f"/quarantine/{entry}").text).group(1)
    dismissed = client.post(f"/quarantine/{entry}/dismiss", data={"reason": "a duplicate row", "csrf": csrf})
    assert dismissed.status_code == 200, dismissed.text
    assert json.loads(site.folder.hub("quarantine", "show", str(entry), "--json").out)["status"] == "dismissed"
    assert site.folder.sql("select actor from audit_log where action = 'quarantine.dismiss'") == [(f"web:{email}",)]


def test_an_address_typed_by_hand_with_an_impossible_number_is_a_page_not_found_not_a_crash(site):
    """Ids beyond the store's 64-bit rows overflowed SQLite and PostgreSQL alike: a 500, then a dropped connection."""
    from tests.web.conftest import PASSWORDS

    client = httpx.Client(base_url=site.url, follow_redirects=True)
    csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text).group(1)
    client.post("/login", data={"email": "admin@wasl.example", "password": PASSWORDS["admin@wasl.example"], "csrf": csrf})
    huge = "99999999999999999999"
    for path in (f"/runs/{huge}", f"/runs/{huge}/live", f"/quarantine/{huge}", "/runs/0", "/quarantine/abc"):
        r = client.get(path)
        assert r.status_code == 404 and "This page does not exist" in r.text and r.headers["content-type"].startswith("text/html"), path
    for path in (f"/records?after={huge}", "/records?after=-1", f"/reconcile?id={huge}"):
        r = client.get(path)
        assert r.status_code == 400 and r.headers["content-type"].startswith("text/html"), path
    assert "Traceback" not in site.proc.stderr.read()
    assert client.get("/records?after=0").status_code == 200  # the server kept serving, the session too
