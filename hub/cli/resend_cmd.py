"""``hub resend``: give a destination every record of a connection again (audited)."""

from __future__ import annotations

import click

from hub.cli.context import open_hub
from hub.cli.output import emit_json, say
from hub.pipeline.backfill import resend as queue_again


@click.command("resend")
@click.argument("connection")
@click.option("--to", "destination", required=True, help="The destination that lost what it was given.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def resend(ctx, connection, destination, as_json) -> None:
    """Queue every record CONNECTION holds for a destination again (the platform restored from a backup, an export deleted).

    What was delivered is queued again and what was never queued is added; the next run of
    CONNECTION sends it, or `hub run DESTINATION` at once. Refused records stay in quarantine.
    """
    counts = queue_again(open_hub(ctx), connection, destination)
    if as_json:
        emit_json({"connection": connection, "destination": destination, **counts})
        return
    say(
        f"{destination}: {counts['again'] + counts['added']:,} record(s) of {connection} queued "
        f"({counts['again']:,} delivered before, {counts['added']:,} never queued); "
        f"they go at the next run of {connection}, or now with `hub run {destination}`"
    )


COMMANDS = [resend]
