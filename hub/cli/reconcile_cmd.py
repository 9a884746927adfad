"""``hub reconcile`` and ``hub matches``: bank lines matched to donations, and the review of suggestions."""

from __future__ import annotations

from pathlib import Path

import click

from hub.cli.context import open_hub
from hub.cli.output import OUTPUT_FILE, ROW_ID, cell_text, emit_json, say, table
from hub.reconcile import convert
from hub.reconcile import service as svc
from hub.reconcile.output import as_json, totals, write_report


def _evidence(evidence: dict) -> str:
    """A decision's evidence on one line, each value as a table shows it (a list as JSON, not ``['REF-1']``)."""
    return ", ".join(f"{signal}: {cell_text(value)}" for signal, value in evidence.items())


def _show(decisions, as_json_flag: bool, evidence: bool, report: Path | None, settings) -> None:
    if report:
        write_report(report, decisions, settings)
    if as_json_flag:
        emit_json(as_json(decisions, evidence=evidence))
        return
    data = as_json(decisions, evidence=True)
    for status in ("matched", "suggested"):
        if data[status]:
            table(
                status,
                ["transaction", "donations", "kind", "rule", "score", "evidence"],
                [
                    [
                        i["transaction"],
                        ", ".join(i["donations"]),
                        i["kind"],
                        i["rule"],
                        i["score"],
                        _evidence(i["evidence"]),
                    ]
                    for i in data[status]
                ],
            )
    for status in ("unmatched", "ignored"):
        if data[status]:
            table(status, ["transaction", "reason"], [[i["transaction"], i["reason"]] for i in data[status]])
    table(
        "totals",
        ["status", "lines", "amount"],
        [[s, n, "; ".join(f"{v} {k}" for k, v in sorted(m.items()))] for s, n, m in totals(decisions, settings)],
    )
    if report:
        say(f"report written to {report}")


@click.command("reconcile")
@click.option(
    "--statement",
    "statements",
    multiple=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="A camt.053/054 or MT940 file (repeatable).",
)
@click.option("--donations", type=click.Path(dir_okay=False, path_type=Path), help="Donations in common-schema shape (JSONL, CSV or XLSX).")
@click.option("--json", "as_json_flag", is_flag=True, help='One object: {"matched", "suggested", "unmatched", "ignored"}.')
@click.option("--evidence", is_flag=True, help="With --json: add each decision's evidence and allocations.")
@click.option("--report", type=OUTPUT_FILE, help="Write an .xlsx or .csv report with totals per status.")
@click.pass_context
def reconcile_command(ctx, statements, donations, as_json_flag, evidence, report) -> None:
    """Match bank credits to donations: over the store, or over --statement/--donations files.

    Exit 0 when every credit is matched, 1 when some are suggested or unmatched.
    """
    if statements or donations:
        if not (statements and donations):
            raise click.UsageError("give both --statement FILE (one or more) and --donations FILE")
        from hub.plugins import Plugins

        root = ctx.find_root().obj
        if Path(root["config_path"]).exists():
            hub = open_hub(ctx)
            plugins, section = hub.plugins, hub.config.reconcile
        else:
            plugins, section = Plugins().load(), {}
        settings = convert.settings_from(section)
        decisions, warnings = svc.reconcile_files(plugins, settings, list(statements), donations)
        for w in warnings:
            say(("warning:", "yellow"), f" {w}", err=True)
    else:
        hub = open_hub(ctx)
        settings = convert.settings_from(hub.config.reconcile)
        decisions = svc.reconcile_store(hub)
    _show(decisions, as_json_flag, evidence, report, settings)
    if any(d.status in ("suggested", "unmatched") for d in decisions):
        raise SystemExit(1)


@click.group("matches")
def matches() -> None:
    """Reconciliation decisions: review the suggestions."""


@matches.command("list")
@click.option(
    "--status", type=click.Choice(["suggested", "confirmed", "rejected", "undone", "any"]), default="suggested", show_default=True
)
@click.option("--json", "as_json_flag", is_flag=True)
@click.pass_context
def matches_list(ctx, status, as_json_flag) -> None:
    """List decisions (suggestions by default), with their evidence."""
    rows = svc.list_matches(open_hub(ctx), status=None if status == "any" else status)
    if as_json_flag:
        emit_json(rows)
        return
    table(
        None,
        ["id", "transaction", "donations", "kind", "rule", "score", "status", "evidence"],
        [
            [
                r["id"],
                r["transaction"],
                ", ".join(r["donations"]),
                r["kind"],
                r["rule"],
                r["score"],
                r["status"],
                _evidence(r["evidence"]),
            ]
            for r in rows
        ],
        empty=f"no {'' if status == 'any' else status + ' '}decisions: `hub reconcile` matches the bank lines in the store",
    )


@matches.command("show")
@click.argument("match_id", type=ROW_ID)
@click.option("--json", "as_json_flag", is_flag=True)
@click.pass_context
def matches_show(ctx, match_id, as_json_flag) -> None:
    """The bank line beside the donations it may pay, and the evidence."""
    m = svc.show_match(open_hub(ctx), match_id)
    if as_json_flag:
        emit_json(m)
        return
    line = m["bank_line"] or {}
    say(f"match {m['id']} ({m['status']}): {m['kind']} by {m['rule']}, score {m['score']}")
    table("bank line", ["field", "value"], [[k, v] for k, v in line.items()])
    for d in m["donation_records"]:
        table(f"donation {d['id']}", ["field", "value"], [[k, v] for k, v in d.items()])
    table("evidence", ["signal", "value"], [[k, v] for k, v in m["evidence"].items()])


@matches.command("confirm")
@click.argument("match_id", type=ROW_ID)
@click.option("--remember/--no-remember", default=True, show_default=True, help="Remember the payer's account and spelling for the donor.")
@click.pass_context
def matches_confirm(ctx, match_id, remember) -> None:
    """Confirm a suggestion: the donations become received (or partly paid)."""
    r = svc.confirm_match(open_hub(ctx), match_id, remember=remember)
    say(f"match {match_id} confirmed" + (f"; remembered for {', '.join(r['remembered_for'])}" if r["remembered_for"] else ""))


@matches.command("reject")
@click.argument("match_id", type=ROW_ID)
@click.option("--reason")
@click.pass_context
def matches_reject(ctx, match_id, reason) -> None:
    """Reject a suggestion; it is not suggested again."""
    svc.reject_match(open_hub(ctx), match_id, reason=reason)
    say(f"match {match_id} rejected")


COMMANDS = [reconcile_command, matches]
