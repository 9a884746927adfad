"""``hub report``: where the money came from and what aid it became, from the hub's own store.

The same account as ``GET /api/v1/report`` (hub.services.report), for the hub's admin at its
console: over every association the store holds, or one, one program, a date range.
"""

from __future__ import annotations

import click

from hub.cli.context import open_hub
from hub.cli.output import OUTPUT_FILE, emit_json, fail, say, table
from hub.services.report import money_text as money
from hub.services.tokens import Principal

__all__ = ["COMMANDS"]

_DAY = click.DateTime(formats=["%Y-%m-%d"])


def _label(field: str | None, value: str | None) -> str:
    return "all" if field is None else f"{field}: {value}"


def _people(n: int | None) -> str:
    return "" if n is None else f"{n:,}"


def _write_iati(hub, reader: Principal, filters, path) -> None:
    """``--iati``: the activities file, and the programs left out of it with why."""
    from hub.services.iati import iati_activities
    from hub.services.spreadsheet import save_bytes

    found = iati_activities(hub, reader, filters)
    for why in found.left_out:
        say(("left out:", "yellow"), f" {why}", err=True)
    if not found.activities:
        fail("no stored program to write as an IATI activity (programs come from a stream whose entity is program)", code=1)
    save_bytes(found.xml, path)
    say(f"wrote {path}: {found.activities} program(s) as IATI activities")


@click.command("report")
@click.option("--association", help="Only this association's donations, distributions and programs.")
@click.option("--program", help="Only this program's donations and distributions.")
@click.option("--from", "date_from", type=_DAY, help="Donated or distributed on or after this day (YYYY-MM-DD).")
@click.option("--to", "date_to", type=_DAY, help="Donated or distributed on or before this day (YYYY-MM-DD).")
@click.option("--json", "as_json", is_flag=True, help="Print the account as JSON (the API's answer).")
@click.option(
    "--3w",
    "three_w_path",
    type=OUTPUT_FILE,
    help="Write the distributions' 3W (who does what where, by month) to this CSV, HXL-tagged, instead.",
)
@click.option("--lang", type=click.Choice(["en", "ar"]), default="en", show_default=True, help="Header language of --3w.")
@click.option(
    "--iati",
    "iati_path",
    type=OUTPUT_FILE,
    help="Write the programs as IATI activities (2.03 XML, donations and distributions by month) to this file, instead.",
)
@click.pass_context
def report_command(ctx, association, program, date_from, date_to, as_json, three_w_path, lang, iati_path) -> None:
    """Where the money came from and what aid it became: donations and distributions added up.

    Amounts are per currency; Syrian pounds from before the redenomination are totalled apart
    (``SYP before 2026-01-01``), as reconciliation counts them. ``--3w FILE.csv`` writes the
    distributions as OCHA's coordination reads them: one row per association, sector,
    governorate and month, with HXL hashtags under the headers. ``--iati FILE.xml`` writes the
    stored programs as IATI activities, for funders' tools (exit 1 when there is none to write).
    """
    from hub.services import browse, report

    filters = browse.Filters(association, None, None, date_from.date() if date_from else None, date_to.date() if date_to else None, program)
    hub = open_hub(ctx)
    reader = Principal(0, "cli", None, can_read=True, can_write=False)
    if three_w_path is not None:
        from hub.services.spreadsheet import save_bytes
        from hub.services.threew import csv_text, three_w

        headers, tags, rows = three_w(hub, reader, filters, lang)
        save_bytes(csv_text(headers, tags, rows).encode("utf-8-sig"), three_w_path)  # the mark Excel needs to read Arabic as UTF-8
        say(f"wrote {three_w_path}: {len(rows)} row(s) of who does what where" + ("" if rows else " (no distribution in range)"))
        return
    if iati_path is not None:
        _write_iati(hub, reader, filters, iati_path)
        return
    account = report.account(hub, reader, filters)
    if as_json:
        emit_json(account)
        return
    unknown = report.unknown_association(hub, association) if association else None
    if unknown:
        say(("warning:", "yellow"), f" {unknown}", err=True)
    table(
        "Money in: donations (given = pledged or received; received = what came in)",
        ["group", "donations", "given", "received"],
        [
            [_label(field, value), f"{row['count']:,}", money(row["given"]), money(row["received"])]
            for field, value, row in report.lines(account["money_in"], report.MONEY_GROUPS)
        ],
    )
    table(
        "Aid out: distributions",
        ["group", "distributions", "households", "people", "women and girls", "men and boys", "value"],
        [
            [
                _label(field, value),
                f"{row['count']:,}",
                *(_people(row[k]) for k in ("households", "individuals", "female", "male")),
                money(row["value"]),
            ]
            for field, value, row in report.lines(account["aid_out"], report.AID_GROUPS)
        ],
    )
    table(
        "Programs",
        ["program", "association", "title", "target", "donations", "given", "received", "distributions", "households", "value"],
        [
            [
                p["id"] or "(none named)",
                p["association_id"],
                p["title_ar"] or p["title_en"] or ("" if p["stored"] or p["id"] is None else "(not in the store)"),
                money(p["target"]),
                f"{p['donations']['count']:,}",
                money(p["donations"]["given"]),
                money(p["donations"]["received"]),
                f"{p['distributions']['count']:,}",
                _people(p["distributions"]["households"]),
                money(p["distributions"]["value"]),
            ]
            for p in account["programs"]
        ],
        empty="Programs: none stored, and no donation or distribution names one",
    )


COMMANDS = [report_command]
