"""``hub backup`` and ``hub restore``: the embedded store copied safely while it works, and put back."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from hub.cli.output import emit_json, say
from hub.config import load_config
from hub.store.backup import Snapshot


def _store_url(ctx: click.Context) -> str:
    # Only the config: opening the hub would migrate the store, and a backup taken before an
    # upgrade must be the store as the older hub left it; a restore must find no connection open.
    return load_config(ctx.find_root().obj["config_path"]).store_url


def _size(n: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:,} {unit}" if unit == "bytes" else f"{n:,.1f} {unit}"
        n /= 1024
    return str(n)


def _holds(snap: Snapshot) -> str:
    records = ", ".join(f"{n:,} {entity}" for entity, n in snap.records.items()) or "no records"
    return f"schema {snap.revision}, {records}; audit log of {snap.audit_entries:,} {'entry' if snap.audit_entries == 1 else 'entries'}"


@click.command("backup")
@click.argument("file", type=click.Path(dir_okay=True, path_type=Path))
@click.option("--overwrite", is_flag=True, help="Replace FILE if it exists.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def backup(ctx, file, overwrite, as_json) -> None:
    """Copy the SQLite store to FILE, safely while the hub runs (hub serve, runs and pushes go on).

    The copy is the store as it stood at one commit, checked before it is put in place. Keep
    the audit head it prints somewhere else: after a restore, `hub audit verify --head HEAD`
    proves the log was not cut back. A PostgreSQL store is backed up with pg_dump.
    """
    from hub.store.backup import backup as take

    snap = take(_store_url(ctx), file, overwrite=overwrite)
    if as_json:
        emit_json(snap.as_dict())
        return
    say(f"backed up the store to {snap.path} ({_size(snap.bytes)}): {_holds(snap)}")
    say(f"audit head {snap.audit_head}: keep it elsewhere, and check a restore with `hub audit verify --head {snap.audit_head}`")
    if snap.audit_broken_at is not None:
        say(("warning:", "yellow"), f" the audit log was already altered at entry {snap.audit_broken_at} (`hub audit verify`)", err=True)


@click.command("restore")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Do not ask: replace the store (a script's restore).")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def restore(ctx, file, yes, as_json) -> None:
    """Replace the SQLite store with the backup FILE; the store it replaces is kept beside it.

    Stop the hub first (hub serve, workers, runs): a store open in another process is refused
    (exit 75). The backup is checked first: a damaged file, one from a newer hub, or one whose
    audit log was altered is not restored (exit 2).
    """
    from hub.store.backup import describe
    from hub.store.backup import restore as put_back

    url = _store_url(ctx)
    if not yes:
        if not sys.stdin.isatty():
            raise click.UsageError("restore replaces the whole store: add --yes to confirm")
        incoming = describe(file)
        click.confirm(f"replace the store with {file} ({_holds(incoming)})?", abort=True)
    snap = put_back(url, file)
    if as_json:
        emit_json(snap.as_dict())
        return
    say(f"restored {file} into {snap.path}: {_holds(snap)}")
    if snap.kept:
        say(f"the store it replaced is kept as {snap.kept}")
    say(
        "what came after the backup is not here: the store has a new epoch, so each hub pushing to this one sends "
        "everything again at its next run, and each hub pulling from it reads its changes again from the start"
    )


COMMANDS = [backup, restore]
