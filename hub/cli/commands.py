"""Core commands: init, check, run, runs, connectors, audit, demo."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import click

from hub.cli.context import open_hub
from hub.cli.output import OUTPUT_FILE, console, emit_json, err_console, table
from hub.errors import HubError
from hub.pipeline.run import check_columns, run_connection
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
        mapping:
          id: رقم الإيصال
          association_id: {const: assoc-001}
          amount: {column: المبلغ, type: decimal}
          currency: {const: SYP}
          donated_at: {column: التاريخ, type: datetime, format: "%d/%m/%Y"}
          channel: {column: طريقة الدفع, map: {نقدي: cash, تحويل: bank_transfer}, default: direct}
          status: {const: received}
          donor.name: اسم المتبرع
"""


@click.command()
@click.option("--force", is_flag=True, help="Overwrite an existing config file.")
@click.pass_context
def init(ctx: click.Context, force: bool) -> None:
    """Create a starter hub.yaml (if there is none) and the store."""
    path = Path(ctx.find_root().obj["config_path"])
    if path.exists() and not force:
        console.print(f"{path} exists; keeping it (--force to overwrite)")
    else:
        path.write_text(STARTER, encoding="utf-8")
        console.print(f"wrote {path}")
    hub = open_hub(ctx)
    console.print(f"store ready: {hub.store.engine.url.render_as_string(hide_password=True)} (revision {hub.store.revision()})")
    console.print("next: edit the connections, then `hub check NAME` and `hub run NAME`")


@click.command()
@click.argument("connection")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_context
def check(ctx: click.Context, connection: str, as_json: bool) -> None:
    """Check that CONNECTION can reach its system and that its mapping fits the source."""
    hub = open_hub(ctx)
    connector = hub.open_connector(connection)
    from hub.pipeline.run import build_preparer

    try:
        detail = connector.check()
        streams = []
        for stream in connector.streams():
            prep = build_preparer(hub, connection, stream)
            check_columns(connection, stream, prep)
            streams.append(
                {
                    "stream": stream.name,
                    "entity": stream.entity,
                    "key": list(stream.key),
                    "cursor_field": stream.cursor_field,
                }
            )
    finally:
        connector.close()
    result = {"connection": connection, "connector": connector.name, "ok": True, "detail": detail, "streams": streams}
    if as_json:
        emit_json(result)
    else:
        console.print(f"[green]ok[/] {connection} ({connector.name}): {detail}")
        for s in streams:
            console.print(
                f"  stream {s['stream']}: {s['entity']} keyed by {', '.join(s['key'])}"
                + (f", incremental on {s['cursor_field']}" if s["cursor_field"] else "")
            )


def _run_line(r: dict) -> list:
    return [
        r["id"],
        r["connection"],
        r["status"],
        r["read"],
        r["inserted"],
        r["updated"],
        r["unchanged"],
        r["quarantined"],
        r["delivered"],
        r.get("seconds"),
        "; ".join(r["flags"]) or (r["error"] or ""),
    ]


RUN_COLUMNS = [
    "run",
    "connection",
    "status",
    "read",
    "new",
    "changed",
    "unchanged",
    "quarantined",
    "delivered",
    "seconds",
    "notes",
]


@click.command()
@click.argument("connections", nargs=-1)
@click.option("--all", "run_all", is_flag=True, help="Run every configured connection.")
@click.option("--json", "as_json", is_flag=True, help="Print the finished runs as JSON.")
@click.pass_context
def run(ctx: click.Context, connections: tuple[str, ...], run_all: bool, as_json: bool) -> None:
    """Run CONNECTIONS now (exit 1 if records were quarantined, 2 if a run failed)."""
    hub = open_hub(ctx)
    if run_all:
        names = list(hub.config.connections)
    elif connections:
        names = list(connections)
    else:
        raise click.UsageError("name a connection, or give --all")
    for n in names:
        hub.config.connection(n)
    results, failed = [], []
    show_progress = not as_json and sys.stderr.isatty()
    for name in names:
        try:
            if show_progress:
                # Loaded only for a terminal: scheduled and scripted runs do not pay for it.
                from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

                with Progress(
                    SpinnerColumn(),
                    TextColumn("{task.description}"),
                    TextColumn("{task.completed:,} records"),
                    TimeElapsedColumn(),
                    console=err_console,
                    transient=True,
                ) as bar:
                    task = bar.add_task(name, total=None)
                    results.append(
                        run_connection(
                            hub,
                            name,
                            progress=lambda s, n, t=task, c=name: bar.update(t, completed=n, description=f"{c}/{s}"),
                        )
                    )
            else:
                results.append(run_connection(hub, name))
        except HubError as exc:
            if len(names) == 1:
                raise
            failed.append({"connection": name, "error": str(exc)})
            err_console.print(f"[red]{name} failed:[/] {exc}", markup=True)
    if as_json:
        emit_json({"runs": results, "failed": failed})
    else:
        table(None, RUN_COLUMNS, [_run_line(r) for r in results])
        if any(r["quarantined"] for r in results):
            console.print(
                "records were quarantined: `hub quarantine list` shows them, `hub quarantine export FILE.xlsx` writes them for correction"
            )
    if failed:
        raise SystemExit(2)
    if any(r["quarantined"] or r["delivery_failed"] for r in results):
        raise SystemExit(1)


@click.group(invoke_without_command=True)
@click.option("--follow", is_flag=True, help="Keep printing runs as they start and finish (Ctrl-C to stop).")
@click.option("--connection", help="Only this connection's runs.")
@click.option("--status", type=click.Choice(["running", "succeeded", "partial", "failed", "interrupted"]))
@click.option("--limit", default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def runs(ctx: click.Context, follow, connection, status, limit, as_json) -> None:
    """List recent runs, newest first (or `hub runs show ID`)."""
    if ctx.invoked_subcommand:
        return
    hub = open_hub(ctx)
    if follow:
        _follow(hub, connection, as_json)
        return
    rows = run_store.list_runs(hub.store.engine, connection=connection, status=status, limit=limit)
    if as_json:
        emit_json(rows)
    else:
        table(None, RUN_COLUMNS, [_run_line(r) for r in rows])


def _follow(hub, connection, as_json) -> None:
    """Print each run when it appears and when its status or counts change."""
    import time

    seen: dict[int, tuple] = {}
    while True:
        for r in reversed(run_store.list_runs(hub.store.engine, connection=connection, limit=50)):
            state = (r["status"], r["read"], r["quarantined"])
            if seen.get(r["id"]) != state:
                seen[r["id"]] = state
                if as_json:
                    sys.stdout.write(__import__("orjson").dumps(r).decode() + "\n")
                    sys.stdout.flush()
                else:
                    console.print(" ".join(str(x) for x in _run_line(r)))
        time.sleep(1.0)


@runs.command("show")
@click.argument("run_id", type=int)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def runs_show(ctx, run_id, as_json) -> None:
    """Show one run's counts, times and errors."""
    r = run_store.get_run(open_hub(ctx).store.engine, run_id)
    if as_json:
        emit_json(r)
    else:
        table(f"run {run_id}", ["field", "value"], [[k, v] for k, v in r.items()])


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
@click.pass_context
def audit_verify(ctx) -> None:
    """Check every entry's hash chain; exit 1 naming the first altered or removed entry."""
    with open_hub(ctx).store.engine.connect() as conn:
        n, bad = audit.verify(conn)
    if bad is None:
        console.print(f"audit log intact: {n} entries")
    else:
        console.print(f"[red]audit log broken at entry {bad}[/] (checked {n}): it was altered, or the one before it was removed")
        raise SystemExit(1)


@audit_group.command("list")
@click.option("--limit", default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def audit_list(ctx, limit, as_json) -> None:
    """Newest audit entries first."""
    with open_hub(ctx).store.engine.connect() as conn:
        rows = audit.entries(conn, limit=limit)
    if as_json:
        emit_json(rows)
    else:
        table(
            None,
            ["id", "at", "actor", "action", "subject", "detail"],
            [[r["id"], r["at"], r["actor"], r["action"], r["subject"], r["detail"]] for r in rows],
        )


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

    summary = run_demo(Path(folder), echo=None if as_json else console.print)
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
    console.print(f"wrote {path}: " + ", ".join(f"{e} {n}" for e, n in counts.items()))


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
    console.print(f"wrote {target}")
    console.print(f"next: pip install -e {target} && hub connectors list && pytest {target}")


COMMANDS.append(new_group)


@click.command("serve")
@click.option("--workers", default=4, show_default=True, help="Runs that may go on at once (different connections).")
@click.option(
    "--executor",
    type=click.Choice(["local", "celery"]),
    default="local",
    show_default=True,
    help="local: run here; celery: queue runs for `hub worker` processes (celery.broker in the config).",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Where the API listens.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535), help="The API's port (0: any free port).")
@click.option("--no-api", is_flag=True, help="Run the schedules only, without the HTTP API.")
@click.pass_context
def serve(ctx, workers: int, executor: str, host: str, port: int, no_api: bool) -> None:
    """Run the schedules and the HTTP API until SIGTERM (SIGHUP re-reads the config)."""
    from hub.scheduling.server import HubServer

    # A service says what it does (listening, schedules, each run's end) at INFO, not WARNING.
    logging.getLogger("hub").setLevel(logging.INFO)
    HubServer(
        Path(ctx.find_root().obj["config_path"]), workers=workers, executor=executor, host=host, port=None if no_api else port
    ).serve()


@click.command("worker")
@click.option("--concurrency", default=1, show_default=True, help="Runs this worker takes at once.")
@click.pass_context
def worker(ctx, concurrency: int) -> None:
    """Execute queued runs from the Celery broker (celery.broker in the config) until stopped."""
    from hub.scheduling.workers import start_worker

    start_worker(Path(ctx.find_root().obj["config_path"]), concurrency)


@click.command("enqueue")
@click.argument("connections", nargs=-1, required=True)
@click.pass_context
def enqueue_command(ctx, connections) -> None:
    """Queue runs of CONNECTIONS for the workers."""
    from hub.scheduling.workers import enqueue

    hub = open_hub(ctx)
    for name in connections:
        console.print(f"{name}: queued as run {enqueue(hub, name)}")


@click.group("schedule")
def schedule_group() -> None:
    """The schedules in the config."""


@schedule_group.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def schedule_list(ctx, as_json) -> None:
    """Each scheduled connection: when, next slot, last run."""
    from datetime import datetime

    from hub.scheduling.server import schedules_of

    hub = open_hub(ctx)
    rows = []
    now = datetime.now().astimezone()
    for s in schedules_of(hub):
        nxt = None if s.paused else s.trigger.get_next_fire_time(None, now)
        last = run_store.list_runs(hub.store.engine, connection=s.connection, limit=1)
        rows.append(
            {
                "connection": s.connection,
                "when": s.description,
                "paused": s.paused,
                "next": nxt.isoformat() if nxt else None,
                "last_run": last[0] if last else None,
            }
        )
    if as_json:
        emit_json(rows)
    else:
        table(
            None,
            ["connection", "when", "next", "last run"],
            [
                [
                    r["connection"],
                    r["when"] + (" (paused)" if r["paused"] else ""),
                    r["next"],
                    f"{r['last_run']['status']} at {r['last_run']['started_at']}" if r["last_run"] else "",
                ]
                for r in rows
            ],
        )


for _cmd in ("pause", "resume", "trigger"):

    def _make(cmd):
        @schedule_group.command(
            cmd,
            help={
                "pause": "Pause CONNECTION's schedule (kept across restarts) until resumed.",
                "resume": "Resume CONNECTION's paused schedule.",
                "trigger": "Have the running scheduler run CONNECTION now.",
            }[cmd],
        )
        @click.argument("connection")
        @click.pass_context
        def _command(ctx, connection):
            from hub.scheduling.commands import issue

            issue(open_hub(ctx), connection, cmd)
            console.print(f"{connection}: {cmd} sent to the running schedulers")

        return _command

    _make(_cmd)


@schedule_group.command("reload")
@click.pass_context
def schedule_reload(ctx) -> None:
    """Have the running schedulers read the config again (as SIGHUP does, from any machine)."""
    from hub.scheduling.commands import issue
    from hub.scheduling.server import schedules_of

    hub = open_hub(ctx)  # a config with a bad key is refused here, exit 2, and nothing is sent
    found = schedules_of(hub)
    issue(hub, "*", "reload")
    console.print(f"reload sent to the running schedulers: {len(found)} schedule(s) in {hub.config.path}")


@click.command("status")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def status(ctx, as_json) -> None:
    """What is scheduled next, what is running, what failed last."""
    from datetime import datetime

    from hub.scheduling.commands import paused_connections
    from hub.scheduling.server import schedules_of
    from hub.store import outbox

    hub = open_hub(ctx)
    paused = paused_connections(hub)
    now = datetime.now().astimezone()
    with hub.store.engine.connect() as conn:
        waiting = outbox.waiting(conn)
    rows = []
    for name in [*hub.config.connections, *(f"job:{j}" for j in hub.config.jobs)]:
        sched = next((s for s in schedules_of(hub) if s.connection == name), None)
        nxt = sched.trigger.get_next_fire_time(None, now) if sched and not (sched.paused or name in paused) else None
        recent = run_store.list_runs(hub.store.engine, connection=name, limit=20)
        running = [r for r in recent if r["status"] == "running"]
        failed = next((r for r in recent if r["status"] == "failed"), None)
        rows.append(
            {
                "connection": name,
                "schedule": sched.description if sched else None,
                "paused": bool(sched and (sched.paused or name in paused)),
                "next": nxt.isoformat() if nxt else None,
                "running": [r["id"] for r in running],
                "last_run": recent[0] if recent else None,
                "last_failure": failed,
                "waiting": waiting[name].as_dict() if name in waiting else None,
            }
        )
    if as_json:
        emit_json(rows)
        return
    table(
        None,
        ["connection", "schedule", "next", "running", "last run", "last failure", "waiting to send"],
        [
            [
                r["connection"],
                (r["schedule"] or "") + (" (paused)" if r["paused"] else ""),
                r["next"],
                ", ".join(map(str, r["running"])),
                f"{r['last_run']['status']} {r['last_run']['started_at']}" if r["last_run"] else "",
                f"{r['last_failure']['started_at']}: {r['last_failure']['error']}" if r["last_failure"] else "",
                _waiting_words(r["waiting"]),
            ]
            for r in rows
        ],
    )


def _waiting_words(w: dict | None) -> str:
    """'120 since 2026-11-29 09:00 UTC; next try 10:05; <why the last try failed>'."""
    if not w:
        return ""
    words = f"{w['pending']} since {w['oldest'][:16].replace('T', ' ')} UTC"
    if w["next_attempt_at"]:
        words += f"; next try {w['next_attempt_at'][11:16]}"
    if w["last_error"]:
        words += f"; {w['last_error'][:120]}"
    return words


COMMANDS += [serve, worker, enqueue_command, schedule_group, status]
