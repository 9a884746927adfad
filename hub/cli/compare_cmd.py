"""``hub compare``: what a destination holds of a connection's records, and what it lacks."""

from __future__ import annotations

import click

from hub.cli.context import open_hub
from hub.cli.output import emit_json, say, table


@click.command("compare")
@click.argument("connection")
@click.option("--with", "destination", required=True, help="The destination to ask (a wasl destination: the platform).")
@click.option("--resend", is_flag=True, help="Queue what it lacks or holds older; the next run sends it (audited).")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def compare(ctx, connection, destination, resend, as_json) -> None:
    """Ask DESTINATION what it holds of CONNECTION's records, and name what it lacks (exit 1 if anything, unless --resend queued it).

    The outbox says what was delivered; this asks what is there now: the platform restored
    from a backup, a record removed there by hand. The destination's token needs read rights.
    """
    from hub.services.compare import compare as compare_with

    found = compare_with(open_hub(ctx), connection, destination, resend=resend)
    if as_json:
        emit_json(found.as_dict())
    else:
        rows = [
            (entity, c["here"], c["there"], c["missing"], c["older"], c["newer_there"], c["only_there"])
            for entity, c in found.entities.items()
        ]
        table(
            f"{connection} → {destination}", ["entity", "here", "there", "missing there", "older there", "newer there", "only there"], rows
        )
        for kind, keys in (("missing", found.missing), ("older", found.older)):
            total = sum(c[kind] for c in found.entities.values())
            if keys:
                say(f"{kind} there: {', '.join(keys)}{f' and {total - len(keys)} more' if total > len(keys) else ''}")
        if found.agree:
            say(f"{destination} holds every record of {connection} at its current version")
        elif found.queued is not None:
            queued = found.queued["again"] + found.queued["added"]
            say(
                f"{queued:,} record(s) queued for {destination}: they go at the next run of {connection}, or now with `hub run {destination}`"
            )
        else:
            say(f"`hub compare {connection} --with {destination} --resend` queues the {len(found.ids):,} record(s) it lacks or holds older")
    if not found.agree and found.queued is None:
        ctx.exit(1)


COMMANDS = [compare]
