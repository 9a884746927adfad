"""``hub quarantine``: list, show, replay, dismiss, export and import (corrected) quarantined records."""

from __future__ import annotations

from pathlib import Path

import click

from hub.cli.context import open_hub
from hub.cli.output import LIMIT, OUTPUT_FILE, ROW_ID, emit_json, local_time, say, table
from hub.services import quarantine as svc
from hub.services.messages import plain_words


@click.group("quarantine")
def quarantine() -> None:
    """Records that failed, with their raw payload and every error."""


@quarantine.command("list")
@click.option("--connection")
@click.option("--status", type=click.Choice(["open", "replayed", "dismissed", "any"]), default="open", show_default=True)
@click.option("--limit", default=100, show_default=True, type=LIMIT)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def q_list(ctx, connection, status, limit, as_json) -> None:
    """List quarantined records, oldest first, with when each was put aside (in the hub's zone)."""
    hub = open_hub(ctx)
    rows = svc.list_open(hub, connection=connection, status=None if status == "any" else status, limit=limit)
    if as_json:
        emit_json(rows)
        return
    table(
        None,
        ["id", "connection", "stream", "line", "stage", "since", "status", "errors"],
        [
            [
                r["id"],
                r["connection"],
                r["stream"],
                r["line"],
                r["stage"],
                local_time(r["created_at"], hub.config.timezone),
                r["status"],
                "; ".join(f"{e['path']}: {e['rule']}" for e in r["errors"]),
            ]
            for r in rows
        ],
        empty=f"no {'' if status == 'any' else status + ' '}records in quarantine" + (f" from {connection}" if connection else ""),
    )


@quarantine.command("show")
@click.argument("entry_id", type=ROW_ID)
@click.option("--lang", type=click.Choice(["en", "ar"]), default="en")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def q_show(ctx, entry_id, lang, as_json) -> None:
    """Show one record's raw payload beside its errors."""
    hub = open_hub(ctx)
    r = svc.show(hub, entry_id)
    if as_json:
        emit_json(r)
        return
    since = local_time(r.get("created_at"), hub.config.timezone)
    say(f"quarantine {r['id']}: {r['connection']}/{r['stream']} line {r['line']} ({r['stage']}, {r['status']} since {since})")
    table(
        "errors",
        ["field", "rule", "in plain words"],
        [[e["path"], e["rule"], plain_words(e, lang)] for e in r["errors"]],
    )
    raw = r["raw"] if isinstance(r["raw"], dict) else {"(raw)": r["raw"]}
    corrected = r.get("corrected")
    if isinstance(corrected, dict):
        # The values as sent, beside what a person corrected them to and the hub stored.
        columns = list(dict.fromkeys([*raw, *corrected]))
        table("raw payload", ["column", "as sent", "corrected"], [[k, raw.get(k), corrected.get(k)] for k in columns])
    else:
        table("raw payload", ["column", "value"], [[k, v] for k, v in raw.items()])


def _changes(pairs: tuple[str, ...]) -> dict:
    out = {}
    for p in pairs:
        if "=" not in p:
            raise click.BadParameter(f"{p!r}: write COLUMN=VALUE", param_hint="--set")
        k, v = p.split("=", 1)
        out[k] = v
    return out


@quarantine.command("replay")
@click.argument("ids", nargs=-1, type=ROW_ID)
@click.option("--connection", help="Replay every open entry of this connection.")
@click.option(
    "--set",
    "sets",
    multiple=True,
    metavar="COLUMN=VALUE",
    help="Correct a raw column before replaying (with one id); a column holding an object or a list takes JSON.",
)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def q_replay(ctx, ids, connection, sets, as_json) -> None:
    """Re-validate entries with the config as it is now; stored ones close (exit 1 if some still fail).

    An entry that still fails keeps the errors found now. An edit (--set) is kept only once the
    record passes: until then the entry holds what the source sent.
    """
    if not ids and not connection:
        raise click.UsageError("give entry ids, or --connection NAME")
    changes = _changes(sets)
    if changes and len(ids) != 1:
        raise click.UsageError("--set corrects one entry: give exactly one id")
    result = svc.replay(open_hub(ctx), list(ids) or None, connection=connection, changes=changes or None)
    if as_json:
        emit_json(result)
    else:
        say(f"replayed {len(result['replayed'])}, still invalid {len(result['still_invalid'])}, skipped {len(result['skipped'])}")
        for s in result["still_invalid"]:
            say(f"  {s['id']}: " + "; ".join(f"{e['path']}: {e['message']}" for e in s["errors"]))
        for s in result["skipped"]:
            say(f"  {s['id']}: skipped, {s['reason']}")
        if result.get("not_sent"):
            say(("warning:", "yellow"), f" {result['not_sent']}", err=True)
    if result["still_invalid"]:
        raise SystemExit(1)


@quarantine.command("dismiss")
@click.argument("ids", nargs=-1, type=ROW_ID, required=True)
@click.option("--reason", required=True, help="Why these records are not to be stored (kept in the audit log).")
@click.pass_context
def q_dismiss(ctx, ids, reason) -> None:
    """Close entries without storing them."""
    done = svc.dismiss(open_hub(ctx), list(ids), reason=reason)
    say(f"dismissed {len(done)}: {', '.join(map(str, done))}")


@quarantine.command("export")
@click.argument("path", type=OUTPUT_FILE)
@click.option("--connection")
@click.option("--lang", type=click.Choice(["en", "ar"]), default="en", show_default=True, help="Language of the error column.")
@click.pass_context
def q_export(ctx, path, connection, lang) -> None:
    """Write open entries to an .xlsx or .csv file an association can correct (hub quarantine import reads it back)."""
    n = svc.export(open_hub(ctx), path, connection=connection, lang=lang)
    say(f"wrote {n} record(s) to {path}" + (f"; once corrected: hub quarantine import {path}" if n else ""))


@quarantine.command("import")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Say what the sheet corrects, and replay nothing.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def q_import(ctx, path, dry_run, as_json) -> None:
    """Replay the rows an association corrected in the sheet `hub quarantine export` wrote (exit 1 if some still fail).

    A cell that differs from what the sheet was given is a correction of that row's entry;
    rows left as they were change nothing.
    """
    from hub.services.corrections import read_corrections

    result = read_corrections(open_hub(ctx), path, apply=not dry_run)
    if as_json:
        emit_json(result)
    elif dry_run:
        say(f"{len(result['corrected'])} row(s) corrected, {len(result['unchanged'])} as they were, {len(result['skipped'])} skipped")
        for c in result["corrected"]:
            say(f"  row {c['line']} (entry {c['id']}): " + "; ".join(f"{k} = {v!r}" for k, v in c["changes"].items()))
    else:
        say(
            f"replayed {len(result['replayed'])}, still invalid {len(result['still_invalid'])},"
            f" as they were {len(result['unchanged'])}, skipped {len(result['skipped'])}"
        )
        for s in result["still_invalid"]:
            say(f"  row {s['line']} (entry {s['id']}): " + "; ".join(f"{e['path']}: {e['message']}" for e in s["errors"]))
    if not as_json:
        for s in result["skipped"]:
            where = f"row {s['line']}" + (f" (entry {s['id']})" if s.get("id") else "")
            say(f"  {where}: skipped, {s['reason']}")
        if result.get("not_sent"):
            say(("warning:", "yellow"), f" {result['not_sent']}", err=True)
    if result["still_invalid"]:
        raise SystemExit(1)


COMMANDS = [quarantine]
