"""``hub demo``: the hub at work on two associations' real-looking exports, nothing to install.

The demo copies its shipped files (a donations CSV with Arabic headers and Arabic-Indic
digits, a programs CSV, a distributions workbook, the association register, and a config) into a folder,
starts a second hub there as the national platform, runs every connection into an SQLite
store (pushing to the platform over HTTP), and prints what happened, whether both sides'
counts agree, and where to look.
Running it again changes nothing: unchanged records are no-ops and open quarantine entries
are not added twice.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

from hub.app import Hub
from hub.demo.platform import DemoPlatform
from hub.pipeline.run import run_connection
from hub.reconcile.service import reconcile_store
from hub.services import quarantine as q_svc
from hub.services.report import money_text
from hub.store import outbox as outbox_store

__all__ = ["DEMO_FILES", "run_demo"]

DEMO_FILES = ("hub.yaml", "amal_donations.csv", "birr_programs.csv", "birr_distributions.xlsx", "associations.csv", "amal_statement.xml")


def _install(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    data = resources.files(__package__).joinpath("data")
    for name in DEMO_FILES:
        target = folder / name
        content = data.joinpath(name).read_bytes()
        if not target.exists() or target.read_bytes() != content:
            target.write_bytes(content)
    return folder / "hub.yaml"


def run_demo(folder: Path, echo: Callable[[str], Any] | None = print) -> dict[str, Any]:
    """Run every demo connection; returns per-connection counts and the store's totals."""
    say = echo or (lambda *_: None)
    config_path = _install(folder)
    with DemoPlatform(folder / "platform") as platform:
        say(f"Wasl Hub demo — store: {folder / 'demo.db'}; the platform: a second hub at {platform.url}")
        return _run(folder, config_path, platform, say)


def _agreement(hub: Hub, platform: DemoPlatform) -> dict[str, dict[str, int]]:
    """Per pushed entity: records this hub holds, and records the platform holds."""
    from sqlalchemy import func, select

    from hub.store.models import records_table

    r = records_table
    with hub.store.engine.connect() as conn:
        here = dict(
            conn.execute(
                select(r.c.entity, func.count())
                .where(r.c.entity.in_(("association", "program", "donation", "distribution")))
                .group_by(r.c.entity)
            ).all()
        )
    return {e: {"hub": n, "platform": platform.count(e)} for e, n in sorted(here.items())}


def _run(folder: Path, config_path: Path, platform: DemoPlatform, say) -> dict[str, Any]:
    hub = Hub.from_path(config_path)
    try:
        results = []
        for name in ("associations", "amal-donations", "birr-programs", "birr-distributions", "amal-bank"):
            run = run_connection(hub, name, trigger="demo")
            results.append(run)
            stored = run["inserted"] + run["updated"] + run["unchanged"]
            say(
                f"  {name:<20} read {run['read']:>3}  stored {stored:>3} "
                f"(new {run['inserted']}, changed {run['updated']}, unchanged {run['unchanged']})  "
                f"quarantined {run['quarantined']}  delivered {run['delivered']}"
                + (f"  skipped {run['skipped']} (not records)" if run["skipped"] else "")
            )
        decisions = reconcile_store(hub, actor="demo")
        counts = {s: sum(d.status == s for d in decisions) for s in ("matched", "suggested", "unmatched", "ignored")}
        say("")
        say("Reconciliation of the bank statement against the pledges:")
        for d in decisions:
            c = d.candidate
            what = f"{', '.join(x.id for x in c.donations)} ({c.kind}, {c.rule}, score {c.score})" if c else d.reason
            say(f"  {d.status:<10} {d.txn.id}  {d.txn.amount} {d.txn.currency}  {what}")
        if not decisions:
            say("  nothing new: every line was decided before")
        with hub.store.engine.connect() as conn:
            pending = outbox_store.pending_count(conn)
        open_q = q_svc.list_open(hub, limit=0)
        agreement = _agreement(hub, platform)
        agree = all(c["hub"] == c["platform"] for c in agreement.values())
        say("")
        say(f"The platform ({platform.url}) and this hub, record for record:")
        for entity, c in agreement.items():
            mark = "agree" if c["hub"] == c["platform"] else "DIFFER"
            say(f"  {entity:<13} here {c['hub']:>3}   on the platform {c['platform']:>3}   {mark}")
        directory = platform.directory()
        say("")
        say("The platform's public directory, as a donor reads it (no token; never a donor or an account):")
        for a in directory:
            t = a["totals"]
            say(
                f"  {a['name_ar']} ({a['id']}): {', '.join(a['sectors'] or [])} in {len(a['governorates_served'] or [])} governorate(s); "
                f"{t['donations']} donation(s), received {money_text(t['received']) or 'nothing yet'}; "
                f"{t['distributions']} distribution(s), {t['households'] or 0:,} households"
            )
        programs = platform.programs()
        say("Programs a donor can still give to, with what they have had and delivered:")
        for p in programs:
            delivered = p["distributions"]
            say(
                f"  {p['title_ar']} ({p['association_id']}, {p['id']}): target {money_text(p['target']) or 'none'}; "
                f"given {money_text(p['donations']['given']) or 'nothing yet'}; "
                f"{delivered['count']} distribution(s), {delivered['households'] or 0:,} households"
            )
        say("")
        say(f"Quarantine: {len(open_q)} record(s) need a person; each kept with its raw row and every error:")
        for e in open_q:
            first = e["errors"][0]
            say(f"  #{e['id']} {e['connection']} line {e['line']}: {first['path']} — {first['message']}")
        cfg = f"-c {config_path}"
        say("")
        say("Where to look next:")
        say(f"  hub {cfg} runs                                 the runs just made")
        say(f"  hub {cfg} quarantine show {open_q[0]['id'] if open_q else 1} --lang ar         one rejected row, errors in Arabic")
        say(f"  hub {cfg} quarantine export fixes.xlsx --lang ar   rows to correct, for the association")
        say(f"  hub {cfg} quarantine import fixes.xlsx           the corrected sheet back, each changed cell replayed")
        say(f"  hub {cfg} matches list                         bank lines waiting for a person")
        say(f"  {folder / 'platform-export'}/*.jsonl          the open-data export")
        say(f"  hub -c {folder / 'platform' / 'hub.yaml'} audit list   what the platform received, hash-chained")
        say(f"  hub -c {folder / 'platform' / 'hub.yaml'} report       where the money came from, what aid it became")
        say(f"  hub -c {folder / 'platform' / 'hub.yaml'} report --iati iati.xml   the programs as IATI activities, for funders")
        say(f"  hub {cfg} users create you@example.org --name You --platform   then")
        say(f"  hub {cfg} serve                                 the web admin at http://127.0.0.1:8000")
        say("Run `make demo` again: nothing changes the second time.")
        return {
            "runs": results,
            "quarantine_open": len(open_q),
            "outbox_pending": pending,
            "reconciliation": counts,
            "store": str(folder / "demo.db"),
            "platform": {
                "url": platform.url,
                "counts": agreement,
                "agree": agree,
                "directory": [a["id"] for a in directory],
                "programs": [p["id"] for p in programs],
            },
        }
    finally:
        hub.close()
