"""``hub demo`` and ``hub init``: what a newcomer runs first."""

from __future__ import annotations

import json
import re
import sqlite3

TABLES = ("records", "record_history", "quarantine", "outbox", "stream_state", "matches")


def _snapshot(folder):
    """Every table that a second demo must leave alone (the demo's own SQLite file, or HUB_STORE)."""
    if folder.store_url:
        return {t: folder.sql(f"select * from {t} order by 1") for t in TABLES}
    db = sqlite3.connect(folder.path / "demo" / "demo.db")
    try:
        return {t: db.execute(f"select * from {t} order by 1").fetchall() for t in TABLES}
    finally:
        db.close()


def _platform(folder):
    db = sqlite3.connect(folder.path / "demo" / "platform" / "platform.db")
    try:
        return {t: db.execute(f"select * from {t} order by 1").fetchall() for t in ("records", "record_history", "audit_log")}
    finally:
        db.close()


def test_demo_stores_both_associations_and_quarantines_the_broken_rows(folder):
    r = folder.hub("demo", "--dir", "demo", "--json")
    assert r.code == 0, r.err
    out = json.loads(r.out)
    runs = {x["connection"]: x for x in out["runs"]}
    assert (runs["amal-donations"]["inserted"], runs["amal-donations"]["quarantined"]) == (40, 3)
    assert (runs["birr-distributions"]["inserted"], runs["birr-distributions"]["quarantined"]) == (25, 2)
    assert runs["associations"]["inserted"] == 2
    assert (runs["birr-programs"]["inserted"], runs["birr-programs"]["quarantined"]) == (2, 0)
    assert out["quarantine_open"] == 5 and out["outbox_pending"] == 0
    assert out["reconciliation"] == {"matched": 3, "suggested": 1, "unmatched": 1, "ignored": 1}
    # The platform, a second hub on a local port, holds what this hub holds.
    assert out["platform"]["agree"] is True
    assert out["platform"]["counts"] == {
        "association": {"hub": 2, "platform": 2},
        "distribution": {"hub": 25, "platform": 25},
        "donation": {"hub": 40, "platform": 40},
        "program": {"hub": 2, "platform": 2},
    }
    # Its public directory lists both associations to a donor, without a token.
    assert out["platform"]["directory"] == ["assoc-amal", "assoc-birr"]
    # And the programs a donor can still give to, which the distributions name.
    assert out["platform"]["programs"] == ["PRG-FOOD-26", "PRG-WINTER-26"]
    query = "select data from records where key = 'assoc-birr|PRG-FOOD-26'"
    program = json.loads(
        folder.sql(query)[0][0] if folder.store_url else sqlite3.connect(folder.path / "demo" / "demo.db").execute(query).fetchone()[0]
    )
    assert program["governorates"] == ["SY02", "SY04", "SY05", "SY06", "SY12", "SY03"], "حلب؛حمص؛...: the Arabic semicolon splits"
    assert (program["status"], program["target_amount"]) == ("implementation", "7500000")
    platform = sqlite3.connect(folder.path / "demo" / "platform" / "platform.db")
    paid_there = platform.execute("select count(*) from records where entity = 'donation' and version = 2").fetchone()[0]
    assert paid_there == 3, "the three payments reconciliation found reached the platform as new versions"
    paid = [json.loads(x) for x in (folder.path / "demo" / "platform-export" / "donation.jsonl").read_text(encoding="utf-8").splitlines()]
    assert sorted(x["id"] for x in paid if x["status"] == "received" and "transactions" in x) == ["AM-1005", "AM-1020", "AM-1035"]
    exported = (folder.path / "demo" / "platform-export" / "donation.jsonl").read_text(encoding="utf-8")
    assert len(exported.splitlines()) == 43, "40 pledges and gifts, then 3 of them paid"
    assert "كفالة أيتام" in exported, "Arabic as written"
    assert "فاطمة علي الشامي" not in exported and all(set(x.get("donor", {})) <= {"type", "country"} for x in paid), (
        "open data names no donor"
    )
    query = "select data from records where key = 'assoc-amal|AM-1001'"
    if folder.store_url:
        stored = folder.sql(query)[0][0]
    else:
        stored = sqlite3.connect(folder.path / "demo" / "demo.db").execute(query).fetchone()[0]
    assert json.loads(stored)["donor"]["name"] == "فاطمة علي الشامي", "the association's store keeps its donors"
    d7 = next(json.loads(x) for x in exported.splitlines() if json.loads(x)["id"] == "AM-1007")
    assert (d7["amount"], d7["donated_at"]) == ("50000", "2026-09-02T00:00:00+03:00"), "Arabic-Indic digits read"


def test_demo_twice_changes_nothing_the_second_time(folder):
    assert folder.hub("demo", "--dir", "demo").code == 0
    before = _snapshot(folder)
    exports = {p.name: p.read_bytes() for p in (folder.path / "demo" / "platform-export").iterdir()}
    platform_before = _platform(folder)
    r = folder.hub("demo", "--dir", "demo")
    assert r.code == 0, r.err
    assert "new 0, changed 0, unchanged 40" in r.out
    after = _snapshot(folder)
    for table in ("records", "record_history", "outbox", "matches"):
        assert after[table] == before[table], table
    assert [q[0] for q in after["quarantine"]] == [q[0] for q in before["quarantine"]]
    assert {p.name: p.read_bytes() for p in (folder.path / "demo" / "platform-export").iterdir()} == exports
    assert "Where to look next" in r.out
    assert re.search(r"The platform \(http://127\.0\.0\.1:\d+\) and this hub", r.out), "its address is shown, not masked"
    assert _platform(folder) == platform_before


def test_init_writes_a_starter_config_that_loads(folder):
    r = folder.hub("init")
    assert r.code == 0, r.err
    assert (folder.path / "hub.yaml").exists()
    assert folder.store_exists() if folder.store_url else (folder.path / ".hub" / "hub.db").exists()
    r = folder.hub("check", "donations")
    assert r.code == 2 and "data/donations.csv: no such file" in r.err
    assert folder.hub("init").code == 0 and "keeping it" in folder.hub("init").out
    # The platform block it shows commented out is a valid config once uncommented.
    from hub.config import load_config

    text = (folder.path / "hub.yaml").read_text(encoding="utf-8")
    uncommented = text.replace("    # destinations:", "    destinations:").replace("  # platform:", "  platform:").replace("  #   ", "    ")
    assert uncommented != text
    (folder.path / "uncommented.yaml").write_text(uncommented, encoding="utf-8")
    cfg = load_config(folder.path / "uncommented.yaml")
    assert cfg.connections["donations"].destinations == ("platform",)
    assert cfg.connections["platform"].connector == "wasl" and cfg.connections["platform"].transforms == ("drop_donor_contact",)
