"""``hub tokens``: API tokens for associations' hubs and for the platform's own readers."""

from __future__ import annotations

from datetime import timedelta

import click

from hub.cli.context import open_hub
from hub.cli.output import ROW_ID, emit_json, local_time, say, table
from hub.services import tokens as svc


@click.group("tokens")
def tokens() -> None:
    """API tokens: create (the secret is shown once), list, expire, revoke."""


@tokens.command("create")
@click.argument("name")
@click.option("--association", help="The association this token speaks for: it reads and writes only that association's records.")
@click.option("--platform", is_flag=True, help="A platform token: reads every association's records.")
@click.option("--read/--no-read", default=True, show_default=True, help="May read records and changes.")
@click.option("--write/--no-write", default=False, show_default=True, help="May push records.")
@click.option(
    "--expires-in",
    "days",
    type=click.IntRange(min=1, max=svc.MAX_LIFETIME.days),
    help="Refuse the token this many days from now (default: accepted until revoked).",
)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def tokens_create(ctx, name, association, platform, read, write, days, as_json) -> None:
    """Create a token NAME; prints the secret once (only its hash is kept)."""
    lifetime = timedelta(days=days) if days else None
    hub = open_hub(ctx)
    t = svc.create(hub, name, association=association, platform=platform, read=read, write=write, expires_in=lifetime)
    if svc.unknown_association(hub, t["association_id"]):
        say(
            ("warning:", "yellow"),
            f" this hub's register has no association {t['association_id']!r}: check the spelling (its hub's records must"
            " carry exactly this association_id, or they are refused); `hub tokens revoke` if it is wrong",
            err=True,
        )
    if as_json:
        emit_json(t)
        return
    scope = f"association {association}" if association else "the platform"
    rights = "+".join(r for r, ok in (("read", read), ("write", write)) if ok)
    until = f", until {local_time(t['expires_at'], hub.config.timezone)}" if t["expires_at"] else ""
    say(f"token {t['id']} ({name}) for {scope}, {rights}{until}. Keep it now; it is not shown again:")
    click.echo(t["token"])


@tokens.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def tokens_list(ctx, as_json) -> None:
    """Every token, without secrets."""
    hub = open_hub(ctx)
    rows = svc.list_tokens(hub)
    if as_json:
        emit_json(rows)
        return
    zone = hub.config.timezone
    table(
        "tokens",
        ["id", "name", "starts", "scope", "rights", "created", "last used", "expires", "revoked"],
        [
            [r["id"], r["name"], r["prefix"], r["scope"], r["rights"]]
            + [local_time(r[at], zone) for at in ("created_at", "last_used_at", "expires_at", "revoked_at")]
            for r in rows
        ],
        empty="no tokens yet: `hub tokens create NAME --association ID --write` makes one an association's hub pushes with",
    )


@tokens.command("revoke")
@click.argument("token_id", type=ROW_ID)
@click.pass_context
def tokens_revoke(ctx, token_id) -> None:
    """Revoke token TOKEN_ID: it is refused from the next request on."""
    r = svc.revoke(open_hub(ctx), token_id)
    say(f"token {r['id']} ({r['name']}) revoked")


@tokens.command("expire")
@click.argument("token_id", type=ROW_ID)
@click.option("--in", "days", type=click.IntRange(min=1, max=svc.MAX_LIFETIME.days), help="Refuse the token this many days from now.")
@click.option("--never", is_flag=True, help="Accept the token until it is revoked.")
@click.pass_context
def tokens_expire(ctx, token_id, days, never) -> None:
    """Set when token TOKEN_ID lapses: a rotation's grace period, or a renewal."""
    if (days is None) == (not never):
        raise click.UsageError("give --in DAYS or --never")
    hub = open_hub(ctx)
    r = svc.expire(hub, token_id, None if never else timedelta(days=days))
    until = f"until {local_time(r['expires_at'], hub.config.timezone)}" if r["expires_at"] else "until revoked"
    say(f"token {r['id']} ({r['name']}) is accepted {until}")


COMMANDS = [tokens]
