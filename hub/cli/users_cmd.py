"""``hub users``: accounts for the web admin."""

from __future__ import annotations

import sys

import click

from hub.cli.context import open_hub
from hub.cli.output import ROW_ID, emit_json, local_time, say, table
from hub.services import users as svc
from hub.services.scope import association_scope


@click.group("users")
def users() -> None:
    """Web admin accounts: create, list, disable."""


@users.command("create")
@click.argument("email")
@click.option("--name", required=True, help="The person's name as shown in the web admin.")
@click.option("--association", help="The association whose records this person sees (and only those).")
@click.option("--platform", is_flag=True, help="Platform staff: sees every association.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input (for scripts).")
@click.pass_context
def users_create(ctx, email, name, association, platform, password_stdin) -> None:
    """Create an account for EMAIL (asks for the password unless --password-stdin)."""
    email, name = svc.account_fields(email, name)  # refused before the password is asked for
    association_scope(association, platform=platform)
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("password", hide_input=True, confirmation_prompt=True)
    uid = svc.create_user(open_hub(ctx), email, name, password, association=association, platform=platform)
    say(f"user {uid} ({email}) created for {association or 'the platform'}")


@users.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def users_list(ctx, as_json) -> None:
    """Every account."""
    hub = open_hub(ctx)
    rows = svc.list_users(hub)
    if as_json:
        emit_json(rows)
        return
    table(
        "users",
        ["id", "email", "name", "scope", "disabled", "last login"],
        [
            [
                r["id"],
                r["email"],
                r["name"],
                r["scope"],
                "yes" if r["disabled"] else "",
                local_time(r["last_login_at"], hub.config.timezone),
            ]
            for r in rows
        ],
        empty="no accounts yet: `hub users create EMAIL --name NAME` makes one for the web admin",
    )


@users.command("disable")
@click.argument("user_id", type=ROW_ID)
@click.pass_context
def users_disable(ctx, user_id) -> None:
    """Disable an account; its sessions end at once."""
    svc.disable_user(open_hub(ctx), user_id)
    say(f"user {user_id} disabled")


COMMANDS = [users]
