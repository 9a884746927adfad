"""Core commands: init, check, run, runs, connectors, audit, demo, export, new."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import click
import orjson

from hub import exactjson
from hub.app import Hub
from hub.cli.context import open_hub
from hub.cli.output import LIMIT, OUTPUT_FILE, ROW_ID, emit_json, err_console, fail, local_time, say, table
from hub.cli.stopping import StopRequest, stop_on_signal
from hub.errors import HubError
from hub.pipeline.run import DEFERRED, delivery_targets, run_connection
from hub.store import audit
from hub.store import runs as run_store

STARTER = """\
# Wasl Hub configuration. Validate with `hub check NAME`; secrets as ${ENV_VAR}.
store: sqlite:///.hub/hub.db      # or postgresql+psycopg://user:${DB_PASSWORD}@host/db
timezone: Asia/Damascus
batch_size: 5000

plugins:
  folders: []                     # folders of .py plugins, for code you do not package

connections:
  donations:
    connector: csv
    settings:
      path: data/donations.csv
      encoding: auto              # utf-8 with or without BOM, windows-1256
    streams:
      donations:
        entity: donation
        mapping:                  # field: column (hub schema show donation --fields lists the fields)
          id: رقم الإيصال
          association_id: {const: assoc-001}
          amount: {column: المبلغ, type: decimal}
          currency: {const: SYP}
          donated_at: {column: التاريخ, type: datetime, format: "%d/%m/%Y"}
          channel: {column: طريقة الدفع, map: {نقدي: cash, تحويل: bank_transfer}, default: direct}
          status: {const: received}
          donor.name: اسم المتبرع
    # destinations: [platform]     # where what it stores is sent: uncomment with the block below

  # The national platform: another Wasl hub's API, pushed to with your association's token.
  # platform:
  #   connector: wasl
  #   settings: {url: "https://platform.example.org", token: "${PLATFORM_TOKEN}"}
  #   transforms: [drop_donor_contact]   # donors' names and accounts stay in this hub
"""


@click.command()
@click.option("--force", is_flag=True, help="Overwrite an existing config file.")
@click.pass_context
def init(ctx: click.Context, force: bool) -> None:
    """Create a starter hub.yaml (if there is none) and the store."""
    path = Path(ctx.find_root().obj["config_path"])
    if path.exists() and not force:
        say(f"{path} exists; keeping it (--force to overwrite)")
    else:
        path.write_text(STARTER, encoding="utf-8")
        say(f"wrote {path}")
    hub = open_hub(ctx)
    say(f"store ready: {hub.store.engine.url.render_as_string(hide_password=True)} (revision {hub.store.revision()})")
    say("next: edit the connections, then `hub check NAME` and `hub run NAME`")


@click.command()
@click.argument("connection")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_context
def check(ctx: click.Context, connection: str, as_json: bool) -> None:
    """Check that CONNECTION can reach its system and that its mapping fits the source.

    The first rows of a file, a query or an API are put through the mapping and the schema,
    storing nothing: it says how many would be stored and why the others would be quarantined
    (exit 1 if any would be).
    """
    from hub.services.checking import check_connection

    result = check_connection(open_hub(ctx), connection)
    streams = result["streams"]
    if as_json:
        emit_json(result)
    else:
        say(("ok", "green"), f" {connection} ({result['connector']}): {result['detail']}")
        for s in streams:
            say(
                f"  stream {s['stream']}: {s['entity']} keyed by {', '.join(s['key'])}"
                + (f", incremental on {s['cursor_field']}" if s["cursor_field"] else "")
            )
            if "trial" in s:
                _say_trial(s["trial"])
        if result.get("transforms"):
            say(f"  records sent here go through: {', '.join(result['transforms'])}")
    if any(s.get("trial", {}).get("would_quarantine") for s in streams):
        raise SystemExit(1)


_SHOWN_REFUSALS = 5
_SHOWN_SKIPS = 10


def _say_trial(trial: dict) -> None:
    """'the first 500 rows: 497 would be stored, 1 skipped, 2 quarantined', with the first reasons."""
    refused = trial["would_quarantine"]
    counts = f"{trial['would_store']} would be stored"
    if trial["would_skip"]:
        lines = [str(n) for n in trial["skipped_lines"] if n is not None]
        shown = f": line {', '.join(lines[:_SHOWN_SKIPS])}{' …' if len(lines) > _SHOWN_SKIPS else ''}" if lines else ""
        counts += f", {trial['would_skip']} skipped (the stream's skip rules{shown})"
    if trial.get("would_pass_over"):
        counts += f", {trial['would_pass_over']} passed over (dismissed or corrected in quarantine before)"
    if refused:
        counts += f", {len(refused)} quarantined"
    say(f"    the first {trial['tried']} row(s) through the mapping and the schema: {counts}")
    for r in refused[:_SHOWN_REFUSALS]:
        say(("    line " + str(r["line"]), "yellow"), ": " + "; ".join(f"{e['path']}: {e['message']}" for e in r["errors"]))
    if len(refused) > _SHOWN_REFUSALS:
        say(f"    … and {len(refused) - _SHOWN_REFUSALS} more (--json lists them all)")


def _run_line(r: dict, zone: str) -> list:
    return [
        r["id"],
        r["connection"],
        r["status"],
        local_time(r.get("started_at"), zone),
        r["read"],
        r["inserted"],
        r["updated"],
        r["unchanged"],
        r["quarantined"],
        r["skipped"],
        r["delivered"],
        r.get("seconds"),
        "; ".join(r["flags"]) or (r["error"] or ""),
    ]


# The moments of a run, shown in the hub's zone by ``hub runs show`` (JSON keeps them as stored).
RUN_MOMENTS = frozenset({"scheduled_for", "started_at", "finished_at", "heartbeat_at"})
RUN_COLUMNS = [
    "run",
    "connection",
    "status",
    "started",
    "read",
    "new",
    "changed",
    "unchanged",
    "quarantined",
    "skipped",
    "delivered",
    "seconds",
    "notes",
]


def _retry_now(hub: Hub, names: list[str]) -> None:
    """Make the deliveries these runs will drain due now, and say how many waited."""
    from hub.store import outbox
    from hub.store.types import utcnow

    targets = sorted({d for n in names for d in delivery_targets(hub.config.connection(n), hub.connector_class(n))})
    with hub.store.engine.begin() as conn:
        waited = outbox.due_now(conn, targets, now=utcnow())
    if waited:
        say(f"{waited} deliver{'y' if waited == 1 else 'ies'} to {', '.join(targets)} that waited for a retry go now", err=True)


@click.command()
@click.argument("connections", nargs=-1)
@click.option("--all", "run_all", is_flag=True, help="Run every configured connection.")
@click.option(
    "--wait",
    "wait_seconds",
    type=click.FloatRange(min=0, max=86400),
    default=0,
    metavar="SECONDS",
    help="If a connection is running in another process, wait up to SECONDS for it to finish (default: do not wait).",
)
@click.option(
    "--retry-now",
    is_flag=True,
    help="Deliver now what waits out a retry's backoff (the receiver is back), instead of at its next try.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the finished runs as JSON.")
@click.pass_context
def run(ctx: click.Context, connections: tuple[str, ...], run_all: bool, wait_seconds: float, retry_now: bool, as_json: bool) -> None:
    """Run CONNECTIONS now (exit 1 if records were quarantined, 2 if a run failed, 75 if it runs elsewhere, was stopped or left deliveries for a retry, 130 after Ctrl-C, 143 after SIGTERM)."""
    hub = open_hub(ctx)
    if run_all:
        names = list(hub.config.connections)
    elif connections:
        names = list(connections)
    else:
        raise click.UsageError("name a connection, or give --all")
    for n in names:
        hub.config.connection(n)
    if retry_now:
        _retry_now(hub, names)
    results, failed = [], []
    show_progress = not as_json and sys.stderr.isatty()
    with stop_on_signal() as asked:
        for name in names:
            if asked.is_set():
                break  # --all: the connections after the one stopped are not started
            try:
                results.append(_when_free(lambda n=name: _run_one(hub, n, show_progress, asked), name, wait_seconds, asked.is_set))
            except HubError as exc:
                if asked.is_set():
                    break  # Ctrl-C while waiting for the connection to be free
                if len(names) == 1:
                    raise
                failed.append({"connection": name, "error": str(exc), "exit_code": exc.exit_code})
                say((f"{name} failed:", "red"), f" {exc}", err=True)
    if as_json:
        emit_json({"runs": results, "failed": failed})
    else:
        table(
            None,
            RUN_COLUMNS,
            [_run_line(r, hub.config.timezone) for r in results],
            empty=None if names else f"nothing to run: {hub.config.path} names no connections yet",
        )
        if any(r["quarantined"] for r in results):
            say(
                "records were quarantined: `hub quarantine list` shows them, `hub quarantine export FILE.xlsx` writes them for correction"
                " and `hub quarantine import FILE.xlsx` replays what was corrected"
            )
    if asked.is_set():
        fail(f"{asked.why}: the next run resumes after the last committed batch", asked.exit_code)
    if failed:
        # 75 when every one that did not run is only busy elsewhere: a script may try again later.
        raise SystemExit(75 if all(f["exit_code"] == 75 for f in failed) else 2)
    if any(r["status"] == "interrupted" for r in results):
        raise SystemExit(75)  # stopped after a committed batch (its lease was taken): the next run resumes
    if any(r["quarantined"] or r["delivery_failed"] for r in results):
        raise SystemExit(1)
    if any(f.startswith(DEFERRED) for r in results for f in r["flags"]):
        raise SystemExit(75)  # stored, but a destination could not take it now: it waits for a retry


@click.group(invoke_without_command=True)
@click.option("--follow", is_flag=True, help="Keep printing runs as they start and finish (Ctrl-C to stop).")
@click.option("--connection", help="Only this connection's runs.")
@click.option("--status", type=click.Choice(run_store.STATUSES))
@click.option("--limit", default=20, show_default=True, type=LIMIT)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def runs(ctx: click.Context, follow, connection, status, limit, as_json) -> None:
    """List recent runs, newest first (or `hub runs show ID`)."""
    if ctx.invoked_subcommand:
        return
    hub = open_hub(ctx)
    run_store.close_lapsed(hub.store.engine, hub.config.lease_seconds)  # not "running" for a killed process
    if follow:
        _follow(hub, connection, as_json)
        return
    rows = run_store.list_runs(hub.store.engine, connection=connection, status=status, limit=limit)
    if as_json:
        emit_json(rows)
    else:
        if connection or status:
            empty = "no runs" + (f" of {connection}" if connection else "") + (f" with status {status}" if status else "")
        else:
            empty = "no runs yet: `hub run NAME` runs a connection now"
        table(None, RUN_COLUMNS, [_run_line(r, hub.config.timezone) for r in rows], empty=empty)


def _run_one(hub, name: str, show_progress: bool, stop: StopRequest) -> dict:
    """Run one connection, with a spinner and a count on a terminal; it stops after a batch once ``stop`` is set."""
    if not show_progress:
        return run_connection(hub, name, should_stop=stop.is_set, stopped_why=lambda: stop.why)
    # Loaded only for a terminal: scheduled and scripted runs do not pay for it.
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}", markup=False),
        TextColumn("{task.completed:,} records"),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    ) as bar:
        task = bar.add_task(name, total=None)
        return run_connection(
            hub,
            name,
            progress=lambda s, n: bar.update(task, completed=n, description=f"{name}/{s}"),
            should_stop=stop.is_set,
            stopped_why=lambda: stop.why,
        )


def _when_free(start, name: str, wait_seconds: float, stop_asked=lambda: False):
    """``start()``, asked again every two seconds while the connection runs elsewhere, up to ``wait_seconds``.

    Like ``flock -w``: a script that must run after an admin's import waits for it instead of
    handling exit 75 itself. The run going on is named once. The wait counts from the first
    refusal, not from the command's start: opening the store and the connector may take a while
    on a busy machine, and that is not time spent waiting for the other run.
    """
    import time

    deadline = None
    while True:
        try:
            return start()
        except run_store.ConnectionBusy as busy:
            if wait_seconds <= 0:
                raise
            if deadline is None:
                deadline = time.monotonic() + wait_seconds
                say(f"{name} is running already (run {busy.run['id']}); waiting up to {wait_seconds:g} s for it to finish", err=True)
            left = deadline - time.monotonic()
            if left <= 0 or stop_asked():
                raise
            time.sleep(min(2.0, left))


def _follow(hub, connection, as_json) -> None:
    """Print each run when it appears and when its status or counts change, until Ctrl-C (exit 0: the way to end it)."""
    try:
        _print_runs_as_they_change(hub, connection, as_json)
    except KeyboardInterrupt:
        return


def _print_runs_as_they_change(hub, connection, as_json) -> None:
    import time

    seen: dict[int, tuple] = {}
    while True:
        run_store.close_lapsed(hub.store.engine, hub.config.lease_seconds)
        for r in reversed(run_store.list_runs(hub.store.engine, connection=connection, limit=50)):
            state = (r["status"], r["read"], r["quarantined"])
            if seen.get(r["id"]) != state:
                seen[r["id"]] = state
                if as_json:
                    sys.stdout.write(orjson.dumps(r).decode() + "\n")
                    sys.stdout.flush()
                else:
                    say(" ".join(str(x) for x in _run_line(r, hub.config.timezone)))
        time.sleep(1.0)


@runs.command("show")
@click.argument("run_id", type=ROW_ID)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def runs_show(ctx, run_id, as_json) -> None:
    """Show one run's counts, times and errors."""
    hub = open_hub(ctx)
    r = run_store.get_run(hub.store.engine, run_id)
    if as_json:
        emit_json(r)
    else:
        zone = hub.config.timezone
        table(
            f"run {run_id}",
            ["field", "value"],
            [[k, local_time(v, zone, seconds=True) if k in RUN_MOMENTS else ", ".join(v) if k == "flags" else v] for k, v in r.items()],
        )


@click.group("connectors")
def connectors_group() -> None:
    """Connectors the loaded plugins provide."""


@connectors_group.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def connectors_list(ctx, as_json) -> None:
    """List connectors with the plugin that provides each."""
    from hub.plugins import Plugins

    root = ctx.find_root().obj
    if Path(root["config_path"]).exists():
        plugins = open_hub(ctx).plugins
    else:
        plugins = Plugins().load()
    rows = []
    for name in plugins.connectors.names():
        cls = plugins.connectors.get(name)
        kinds = "+".join(k for k, ok in (("source", cls.is_source()), ("destination", cls.is_destination())) if ok)
        rows.append({"name": name, "title": cls.title, "kind": kinds, "plugin": plugins.connectors.owner(name)})
    if as_json:
        emit_json(rows)
    else:
        table(
            None,
            ["connector", "what", "kind", "plugin"],
            [[r["name"], r["title"], r["kind"], r["plugin"]] for r in rows],
        )


@click.group("audit")
def audit_group() -> None:
    """The append-only, hash-chained audit log."""


@audit_group.command("verify")
@click.option(
    "--head",
    "recorded",
    metavar="HASH",
    help="A head printed by an earlier verify and kept elsewhere: check that its entry is still in the chain.",
)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def audit_verify(ctx, recorded, as_json) -> None:
    """Check every entry's hash chain; exit 1 naming the first altered or removed entry.

    It prints the head, the last entry's hash. Entries removed from the end leave a chain that
    still fits; keep the head somewhere else (a ticket, a mail, the platform) and give it back
    with --head to prove nothing was cut since.
    """
    if recorded is not None and not re.fullmatch(r"[0-9a-f]{64}", recorded.strip().lower()):
        raise click.BadParameter("a head is the 64 hexadecimal characters verify printed", param_hint="--head")
    recorded = recorded.strip().lower() if recorded else None
    with open_hub(ctx).store.engine.connect() as conn:
        found = audit.verify(conn, head=recorded)
    lost = recorded is not None and found.head_at is None
    if as_json:
        emit_json(
            {
                "intact": found.broken_at is None and not lost,
                "checked": found.checked,
                "broken_at": found.broken_at,
                "head": found.head,
                **({"recorded_head_at": found.head_at} if recorded else {}),
            }
        )
    elif found.broken_at is not None:
        say(
            (f"audit log broken at entry {found.broken_at}", "red"),
            f" (checked {found.checked}): it was altered, or the one before it was removed",
        )
    elif lost:
        say(
            ("audit log cut back or altered", "red"),
            f": no entry carries the recorded head {recorded[:16]}…; its {found.checked} entries fit together, but the"
            " entries up to that head are no longer all there",
        )
    else:
        since = f"; the recorded head is entry {found.head_at}" if recorded and found.head_at else ""
        say(f"audit log intact: {found.checked} entries{since}\nhead {found.head}")
    if found.broken_at is not None or lost:
        raise SystemExit(1)


@audit_group.command("list")
@click.option("--limit", default=50, show_default=True, type=LIMIT)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def audit_list(ctx, limit, as_json) -> None:
    """Newest audit entries first, in the hub's zone, each detail cut to a line (``hub audit show ID``: whole; ``--json``: as stored)."""
    hub = open_hub(ctx)
    with hub.store.engine.connect() as conn:
        rows = audit.entries(conn, limit=limit)
    if as_json:
        emit_json(rows)
    else:
        zone = hub.config.timezone
        table(
            None,
            ["id", "at", "actor", "action", "subject", "detail"],
            [[r["id"], local_time(r["at"], zone), r["actor"], r["action"], r["subject"], _in_a_line(r["detail"], r["id"])] for r in rows],
            empty="the audit log is empty: nothing has been written through the API or changed by an admin yet",
        )


def _in_a_line(detail, entry_id: int) -> str:
    line = audit.detail_line(detail)
    return f"{line} (hub audit show {entry_id})" if line.endswith("…") else line


@audit_group.command("show")
@click.argument("entry_id", type=ROW_ID)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def audit_show(ctx, entry_id, as_json) -> None:
    """One entry whole: its detail, and the hashes that chain it to the one before."""
    hub = open_hub(ctx)
    with hub.store.engine.connect() as conn:
        found = audit.entry(conn, entry_id)
    if as_json:
        emit_json(found)
        return
    found["at"] = local_time(found["at"], hub.config.timezone)
    found["detail"] = exactjson.dumps(found["detail"], indent=True).decode()
    table(f"audit entry {entry_id}", ["field", "value"], [[k, v] for k, v in found.items()])


@click.command()
@click.option(
    "--dir",
    "folder",
    default=".hub/demo",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Where the demo keeps its config, data and store.",
)
@click.option("--json", "as_json", is_flag=True)
def demo(folder: str, as_json: bool) -> None:
    """Run the demo: two associations' exports synced into the embedded store."""
    from hub.demo import run_demo

    # The demo's lines are its own and hold no secret; its platform's address is passed as one.
    summary = run_demo(Path(folder), echo=None if as_json else lambda line: say(line, redact=False))
    if as_json:
        emit_json(summary)


COMMANDS = [init, check, run, runs, connectors_group, audit_group, demo]


@click.command("export")
@click.argument("path", type=OUTPUT_FILE)
@click.option("--entity", "entities", multiple=True, help="Only these entities (default: all in the store).")
@click.option("--association", help="Only one association's records.")
@click.option("--lang", type=click.Choice(["en", "ar"]), default="en", show_default=True, help="Header language.")
@click.pass_context
def export(ctx, path, entities, association, lang) -> None:
    """Write the store's records to an .xlsx workbook, one sheet per entity."""
    from hub.services.export import export_workbook

    counts = export_workbook(open_hub(ctx), path, entities=list(entities) or None, association=association, lang=lang)
    if counts:
        say(f"wrote {path}: " + ", ".join(f"{e} {n}" for e, n in counts.items()))
    else:
        # "wrote report.xlsx: " and an empty workbook read like a failure to find the records.
        say(f"wrote {path}: the store holds no records" + (f" of association {association}" if association else "") + " yet")


COMMANDS.append(export)


@click.group("new")
def new_group() -> None:
    """Start something new from a template."""


@new_group.command("connector")
@click.argument("name")
@click.option(
    "--dir", "parent", default=".", show_default=True, type=click.Path(file_okay=False, path_type=Path), help="Where to write the package."
)
@click.option("--force", is_flag=True, help="Write into an existing, non-empty folder.")
def new_connector_command(name: str, parent: Path, force: bool) -> None:
    """Write a ready connector package wasl-NAME: install it with pip install -e, test it with pytest."""
    from hub.scaffold import new_connector

    target = new_connector(name, parent, force=force)
    say(f"wrote {target}")
    say(f"next: pip install -e {target} && hub connectors list && pytest {target}")


COMMANDS.append(new_group)
