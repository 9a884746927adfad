"""Commands of a hub that runs by itself: serve, worker, enqueue, schedule, status.

Loaded only when one of them is asked for (see ``hub.cli._LAZY``): ``hub run``, which cron
and the scheduler call over and over, does not import what serving needs.
"""

from __future__ import annotations

import logging
from pathlib import Path

import click

from hub.cli.context import open_hub
from hub.cli.output import emit_json, local_time, say, table
from hub.store import runs as run_store


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

    # A log collector reads stderr as JSON lines: no banner around them.
    start_worker(Path(ctx.find_root().obj["config_path"]), concurrency, quiet=ctx.find_root().params.get("log_format") == "json")


@click.command("enqueue")
@click.argument("connections", nargs=-1, required=True)
@click.pass_context
def enqueue_command(ctx, connections) -> None:
    """Queue runs of CONNECTIONS for the workers."""
    from hub.scheduling.workers import enqueue

    hub = open_hub(ctx)
    for name in connections:
        say(f"{name}: queued as run {enqueue(hub, name)}")


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
        nxt = None if s.paused else s.next_slot(now)
        last, skipped = run_store.last_ran(hub.store.engine, s.connection)
        rows.append(
            {
                "connection": s.connection,
                "when": s.description,
                "paused": s.paused,
                "next": nxt.isoformat() if nxt else None,
                "last_run": last,
                "skipped": skipped,
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
                    local_time(r["next"], hub.config.timezone),
                    _last_words(r["last_run"], r["skipped"], hub.config.timezone, "at "),
                ]
                for r in rows
            ],
            empty="nothing is scheduled: give a connection or a job a schedule in hub.yaml, e.g. schedule: {cron: '0 2 * * *'}",
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
            # Recorded in the store, not sent: no scheduler need be running to take it.
            if cmd == "trigger":
                say(f"{connection}: trigger recorded; a running `hub serve` runs it within seconds, as does one started within the minute")
            else:
                say(f"{connection}: {cmd} recorded; running schedulers apply it within seconds, and it holds across restarts")

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
    say(f"reload sent to the running schedulers: {len(found)} schedule(s) in {hub.config.path}")


@click.command("status")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def status(ctx, as_json) -> None:
    """What is scheduled next, what is running, what failed last."""
    from hub.services.status import connection_status

    hub = open_hub(ctx)
    run_store.close_lapsed(hub.store.engine, hub.config.lease_seconds)  # a killed run is not "running"
    rows = connection_status(hub, [*hub.config.connections, *(f"job:{j}" for j in hub.config.jobs)])
    if as_json:
        emit_json(rows)
        return
    zone = hub.config.timezone

    def at(moment: str | None) -> str:
        return local_time(moment, zone)

    table(
        None,
        ["connection", "schedule", "next", "running", "last run", "last failure", "waiting to send"],
        [
            [
                r["connection"],
                (r["schedule"] or "") + (" (paused)" if r["paused"] else ""),
                at(r["next"]),
                ", ".join(f"{i} since {at(t)}" for i, t in zip(r["running"], r["running_since"], strict=True)),
                _last_words(r["last_run"], r["skipped"], zone),
                f"{at(r['last_failure']['started_at'])}: {r['last_failure']['error']}" if r["last_failure"] else "",
                _waiting_words(r["waiting"], zone),
            ]
            for r in rows
        ],
        empty=f"no connections yet: {hub.config.path} names none; add one, then `hub check NAME`",
    )


def _last_words(last: dict | None, skipped: dict | None, zone: str, at: str = "") -> str:
    """'succeeded 2026-11-29 12:00 +03; 3 slots skipped since 2026-11-29 12:05 +03' (skipped: slots that found it busy)."""
    words = [f"{last['status']} {at}{local_time(last['started_at'], zone)}"] if last else []
    if skipped:
        n = skipped["attempts"]
        words.append(f"{n} slot{'s' if n > 1 else ''} skipped since {local_time(skipped['started_at'], zone)}")
    return "; ".join(words)


def _waiting_words(w: dict | None, zone: str) -> str:
    """'120 since 2026-11-29 12:00 +03; next try 2026-11-29 13:05 +03; <why the last try failed>'."""
    if not w:
        return ""
    words = f"{w['pending']} since {local_time(w['oldest'], zone)}"
    if w["next_attempt_at"]:
        words += f"; next try {local_time(w['next_attempt_at'], zone)}"
    if w["last_error"]:
        words += f"; {w['last_error'][:120]}"
    return words


COMMANDS = [serve, worker, enqueue_command, schedule_group, status]
