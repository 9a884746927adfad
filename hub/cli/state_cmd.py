"""``hub state``: see and change where each stream will resume (every change audited)."""

from __future__ import annotations

import click

from hub import exactjson
from hub.cli.context import open_hub
from hub.cli.output import emit_json, local_time, say, table
from hub.services import state as svc


@click.group("state")
def state() -> None:
    """Stream cursors: where the next run of a connection starts."""


@state.command("show")
@click.argument("connection")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def state_show(ctx, connection, as_json) -> None:
    """Show each stream's saved cursor."""
    hub = open_hub(ctx)
    rows = svc.show(hub, connection)
    if as_json:
        emit_json(rows)
    else:
        table(
            None,
            ["stream", "cursor", "run", "updated"],
            [
                [
                    r["stream"],
                    exactjson.dumps(r["cursor"]).decode() if r["cursor"] is not None else "(start)",
                    r["run_id"],
                    local_time(r["updated_at"], hub.config.timezone),
                ]
                for r in rows
            ],
        )


@state.command("set")
@click.argument("connection")
@click.argument("value")
@click.option("--stream", help="The stream (needed when the connection has several).")
@click.pass_context
def state_set(ctx, connection, value, stream) -> None:
    """Set a stream's cursor to VALUE (JSON, e.g. '"2026-01-01T00:00:00+03:00"')."""
    try:
        parsed = exactjson.loads(value)
    except exactjson.JSONDecodeError:
        raise click.BadParameter(f"{value!r} is not JSON (quote a string: '\"...\"')", param_hint="VALUE") from None
    r = svc.set_cursor(open_hub(ctx), connection, parsed, stream=stream)
    say(f"{connection}/{r['stream']}: cursor {exactjson.dumps(r['old']).decode()} -> {exactjson.dumps(r['cursor']).decode()}")


@state.command("rewind")
@click.argument("connection")
@click.option("--stream")
@click.pass_context
def state_rewind(ctx, connection, stream) -> None:
    """Forget cursors so the next run reads from the start (unchanged records cost nothing)."""
    for r in svc.rewind(open_hub(ctx), connection, stream=stream):
        say(f"{connection}/{r['stream']}: rewound (was {exactjson.dumps(r['old']).decode()})")


COMMANDS = [state]
