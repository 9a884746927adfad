"""``hub serve``: the scheduler, a local executor and the HTTP API in one process.

One APScheduler job per scheduled connection: ``max_instances=1`` (a connection never runs
twice at once), ``coalesce=True`` with no misfire grace limit (after downtime, a missed slot
runs once on start, not once per slot). Each firing becomes a run whose key is (connection,
slot time): a second scheduler firing the same slot is refused by the database. A failed run
is tried again after ``retry_after_seconds`` (doubling) up to ``retries`` times. SIGHUP
re-reads the config and replaces the schedules; SIGTERM stops taking new work, lets a running
batch commit, and exits. The API (uvicorn) runs in a thread of its own; it stops after the
requests it is answering are done.
"""

from __future__ import annotations

import gc
import logging
import signal
import socket
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy.exc import DatabaseError

from hub.app import Hub
from hub.errors import HubError
from hub.localport import ANNOUNCED
from hub.pipeline.run import run_connection
from hub.scheduling.commands import last_id, new_commands, paused_connections
from hub.scheduling.triggers import Schedule, parse_schedule
from hub.store import runs as run_store
from hub.store.failures import as_hub_error
from hub.store.runs import ConnectionBusy, SlotTaken
from hub.store.types import utcnow

__all__ = ["HubServer", "schedules_of"]

log = logging.getLogger("hub.serve")
_STARTING = timedelta(minutes=1)  # schedule commands given this long before the start are still acted on


def schedules_of(hub: Hub) -> list[Schedule]:
    """Every connection's and job's schedule, checked (ConfigError names the first bad key); jobs are ``job:NAME``."""
    from hub.scheduling.overrides import overrides

    set_by_admin = overrides(hub)
    found = [
        parse_schedule(name, set_by_admin.get(name, c.schedule), hub.config.timezone)
        for name, c in hub.config.connections.items()
        if c.schedule or name in set_by_admin
    ]
    found += [
        parse_schedule(f"job:{name}", spec["schedule"], hub.config.timezone, where=f"jobs.{name}.schedule")
        for name, spec in hub.config.jobs.items()
    ]
    return found


def _listening_socket(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port`` for uvicorn to serve on; HubError naming why it cannot be.

    Bound here rather than by uvicorn, which would log its own "ERROR: [Errno 98] ..." line
    before the hub could say what that means and what to do.
    """
    import errno

    def refused(why: str, hint: str) -> HubError:
        return HubError(f"cannot serve the API on {host}:{port}: {why}", hint=hint)

    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
    except (socket.gaierror, UnicodeError):
        raise refused("no such address", "give --host an address of this machine, e.g. 127.0.0.1 or 0.0.0.0") from None
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a restart need not wait out TIME_WAIT, as uvicorn does
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise refused("the port is in use", "choose another with --port, or stop what listens there") from None
        if exc.errno == errno.EADDRNOTAVAIL:
            raise refused(
                "the address is not one of this machine's", "give --host an address of this machine, e.g. 127.0.0.1 or 0.0.0.0"
            ) from None
        if exc.errno == errno.EACCES:
            raise refused(
                "not allowed (ports below 1024 need privileges)", "choose a port from 1024 up, behind a proxy for 80/443"
            ) from None
        raise refused(exc.strerror or str(exc), "choose another --host or --port") from None
    return sock


class _SlotExecutor(ThreadPoolExecutor):
    """Hands each job the slot time it was fired for, as ``scheduled_for``."""

    def _do_submit_job(self, job, run_times):
        # A shallow copy slot by slot (copy.copy would go through the Job's pickling state,
        # which refuses callables without a module-level name).
        fired = object.__new__(type(job))
        for cls in type(job).__mro__:
            for slot in getattr(cls, "__slots__", ()):
                if slot != "__weakref__" and hasattr(job, slot):
                    object.__setattr__(fired, slot, getattr(job, slot))
        # A jittered slot fires late; its run is still kept under the slot (hub.scheduling.triggers.Jittered).
        slot_of = getattr(job.trigger, "slot_of", None)
        fired.kwargs = {"scheduled_for": slot_of(run_times[-1]) if slot_of else run_times[-1], **job.kwargs}
        return super()._do_submit_job(fired, run_times)


class HubServer:
    """The scheduler of one hub; ``serve()`` blocks until SIGTERM or SIGINT."""

    def __init__(
        self, config_path: Path, workers: int = 4, executor: str = "local", *, host: str = "127.0.0.1", port: int | None = 8000
    ) -> None:
        self.config_path = Path(config_path)
        self.executor = executor
        self.host, self.port = host, port  # port None: no API
        self.api_server = self.api_app = None
        self.hub = Hub.from_path(self.config_path)
        self.stopping = threading.Event()
        self._seen_command: int | None = None  # the last schedule command acted on
        self.scheduler = BackgroundScheduler(
            executors={"default": _SlotExecutor(max_workers=workers)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
            timezone=self.hub.config.timezone,
        )

    def load(self) -> list[Schedule]:
        """(Re)place the jobs with the config's schedules."""
        found = schedules_of(self.hub)
        # Open and migrate before the first slot fires; a server writes for hours, so SQLite's
        # log is copied back from a thread of its own, not inside a request's commit.
        self.hub.store.checkpoint_in_background()
        self.scheduler.remove_all_jobs()
        admin_paused = paused_connections(self.hub)
        if self._seen_command is None:
            # Commands given while this scheduler was starting are acted on, not passed over as
            # old: a trigger given in the minute before is run (one a scheduler ran before it was
            # restarted finds its slot taken). A reload keeps what was seen, so a command given
            # just before it is not passed over either.
            self._seen_command = last_id(self.hub, issued_before=utcnow() - _STARTING)
        # Put back with the schedules: a reload removes every job, and the lease may have changed.
        every = max(1.0, self.hub.config.lease_seconds / 3)
        self.scheduler.add_job(
            self._reap, "interval", seconds=every, id="#reaper", replace_existing=True, next_run_time=datetime.now().astimezone()
        )
        for s in found:
            paused = {"next_run_time": None} if (s.paused or s.connection in admin_paused) else {}
            self.scheduler.add_job(
                self._fire,
                s.trigger,
                id=s.connection,
                name=s.description,
                kwargs={"connection": s.connection, "attempt": 0},
                replace_existing=True,
                **paused,
            )
            missed = None if paused else self._missed_slot(s)
            if missed is not None:
                log.warning("%s: slot %s was missed while the hub was down; running it once now", s.connection, missed.isoformat())
                self.scheduler.add_job(
                    self._fire,
                    "date",
                    run_date=datetime.now(missed.tzinfo),
                    id=f"{s.connection}#missed",
                    kwargs={"connection": s.connection, "attempt": 0, "scheduled_for": missed},
                    replace_existing=True,
                )
        return found

    def _missed_slot(self, s: Schedule) -> datetime | None:
        """The latest slot after the last scheduled run and before now, if the hub missed any."""
        last = next(
            (r for r in run_store.list_runs(self.hub.store.engine, connection=s.connection, limit=50) if r["trigger"] != "manual"), None
        )
        if last is None or not last["scheduled_for"]:
            return None  # never run on a schedule: nothing was missed
        now = datetime.now().astimezone()
        t = datetime.fromisoformat(last["scheduled_for"])
        missed = None
        for _ in range(100_000):
            t = s.slots.get_next_fire_time(t, t + timedelta(microseconds=1))
            if t is None or t > now:
                break
            missed = t
        return missed

    def _fire(self, connection: str, attempt: int = 0, scheduled_for: datetime | None = None, trigger: str = "schedule") -> None:
        if self.stopping.is_set():
            return
        if scheduled_for is None:  # set by _SlotExecutor; only a direct call lacks it
            scheduled_for = datetime.now().astimezone()
        job = connection.startswith("job:")
        if self.executor == "celery" and not job:
            from hub.scheduling.workers import enqueue

            run_id = enqueue(self.hub, connection, trigger=trigger, scheduled_for=scheduled_for)
            if run_id is None:
                log.info("%s: slot %s already run by another scheduler", connection, scheduled_for.isoformat())
            return
        trigger = trigger if attempt == 0 else f"retry {attempt}"
        try:
            if job:  # a hub job runs here, whatever the executor: it is store work, not a sync
                from hub.scheduling.jobs import run_job

                run = run_job(self.hub, connection.removeprefix("job:"), trigger=trigger, scheduled_for=scheduled_for)
            else:
                run = run_connection(self.hub, connection, trigger=trigger, scheduled_for=scheduled_for, should_stop=self.stopping.is_set)
            log.info(
                "%s: run %s %s%s",
                connection,
                run["id"],
                run["status"],
                "" if job else f" (read {run['read']})",
                extra={"connection": connection, "run_id": run["id"], "status": run["status"], "scheduled_for": scheduled_for.isoformat()},
            )
        except SlotTaken:
            log.info("%s: slot %s already run by another scheduler", connection, scheduled_for.isoformat())
        except ConnectionBusy as exc:
            # Like cron under flock: the run going on reads what this slot would have read.
            log.warning(
                "%s: slot %s skipped: %s",
                connection,
                scheduled_for.isoformat(),
                exc,
                extra={"connection": connection, "status": "skipped", "scheduled_for": scheduled_for.isoformat()},
            )
            self._keep_skipped(connection, trigger, scheduled_for, exc.run)
        except HubError as exc:
            self._retry_later(connection, attempt, scheduled_for, exc)
        except DatabaseError as exc:  # the store went away mid-run: like any failed run, tried again later
            self._retry_later(connection, attempt, scheduled_for, as_hub_error(exc))

    def _keep_skipped(self, connection: str, trigger: str, scheduled_for: datetime, holder: dict) -> None:
        """Record a skipped slot as a run, so that admins see it beside the runs (not only in this log)."""
        try:
            with self.hub.store.writing(f"runs:{connection}") as conn:
                run_store.skip_slot(conn, connection, trigger=trigger, scheduled_for=scheduled_for, holder=holder)
        except SlotTaken:
            pass  # another scheduler fired or skipped this slot, and keeps it
        except (HubError, DatabaseError) as exc:  # a store too busy or away to say so: the log line above stays
            log.warning("%s: skipped slot %s not recorded: %s", connection, scheduled_for.isoformat(), as_hub_error(exc))

    def _retry_later(self, connection: str, attempt: int, scheduled_for: datetime, exc: HubError) -> None:
        """Try a failed run again after the schedule's backoff, up to its retries; then report it."""
        schedule = next((s for s in schedules_of(self.hub) if s.connection == connection), None)
        if schedule and attempt < schedule.retries and not self.stopping.is_set():
            wait = schedule.retry_after_seconds * (2**attempt)
            when = datetime.now(scheduled_for.tzinfo) + timedelta(seconds=wait)
            log.warning(
                "%s failed (%s); retry %s of %s at %s",
                connection,
                exc,
                attempt + 1,
                schedule.retries,
                when.isoformat(),
                extra={"connection": connection, "status": "failed", "retry_at": when.isoformat()},
            )
            self.scheduler.add_job(
                self._fire,
                "date",
                run_date=when,
                kwargs={"connection": connection, "attempt": attempt + 1},
                id=f"{connection}#retry",
                replace_existing=True,
            )
        else:
            log.error(
                "%s failed after %s attempt(s): %s", connection, attempt + 1, exc, extra={"connection": connection, "status": "failed"}
            )

    def _reap(self, scheduled_for: datetime | None = None) -> None:
        """Close the runs whose process was killed; queue again those whose worker went silent.

        Without it a ``hub run`` killed mid-way would read "running" in ``hub status`` until its
        connection next ran. ``scheduled_for`` comes with every job and is not needed here.
        """
        try:
            for run_id in run_store.close_lapsed(self.hub.store.engine, self.hub.config.lease_seconds):
                log.warning("run %s: its process stopped without a word (killed?); marked interrupted", run_id)
            if self.executor == "celery":
                from hub.scheduling.workers import reap

                reap(self.hub)
        except (HubError, DatabaseError) as exc:
            log.error("reaper: %s", as_hub_error(exc))

    def poll_commands(self) -> None:
        """Act on pause/resume/trigger commands issued since the last look."""
        for cid, connection, command, issued_at in new_commands(self.hub, self._seen_command):
            self._seen_command = cid
            job = self.scheduler.get_job(connection)
            if command == "pause" and job:
                self.scheduler.pause_job(connection)
                log.info("%s: paused", connection)
            elif command == "resume" and job:
                self.scheduler.resume_job(connection)
                log.info("%s: resumed", connection)
            elif command == "reload":
                self.reload()
            elif command == "trigger" and (
                connection in self.hub.config.connections or connection.removeprefix("job:") in self.hub.config.jobs
            ):
                # The slot is when the trigger was issued, the same for every scheduler reading it:
                # with several, one runs it and the others find the slot taken.
                self.scheduler.add_job(
                    self._fire,
                    "date",
                    run_date=datetime.now().astimezone(),
                    id=f"{connection}#trigger-{cid}",
                    kwargs={"connection": connection, "attempt": 0, "scheduled_for": issued_at, "trigger": "trigger"},
                )
                log.info("%s: triggered", connection)

    def reload(self, *_args) -> None:
        """SIGHUP: read the config again; keep the old schedules if the new config is bad."""
        try:
            fresh = Hub.from_path(self.config_path)
            schedules_of(fresh)
        except HubError as exc:
            log.error("config not reloaded, the running schedules stay: %s", exc)
            return
        old, self.hub = self.hub, fresh
        self.load()
        if self.api_app is not None:
            self.api_app.state.hub = fresh  # requests from now on see the new config
        old.close()
        log.info("config reloaded: %s schedule(s)", len(schedules_of(fresh)))

    def _start_api(self) -> None:
        """Serve the API from a thread; HubError if the address cannot be bound."""
        import uvicorn

        from hub.api import create_app

        self.api_app = create_app(self.hub)
        config = uvicorn.Config(
            self.api_app,
            host=self.host,
            port=self.port,
            log_level="warning",
            lifespan="off",
            timeout_graceful_shutdown=30,
            # uvicorn's own lines go through the hub's handler: masked, and JSON with --log-format json.
            log_config=None,
            access_log=False,  # the hub's own (api.access_log) names the caller
        )
        server = uvicorn.Server(config)
        sock = _listening_socket(self.host, self.port)
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="hub-api", daemon=True)
        thread.start()
        while not server.started and thread.is_alive():
            time.sleep(0.02)
        if not server.started:
            sock.close()
            raise HubError(
                f"cannot serve the API on {self.host}:{self.port}: the server did not start",
                hint="see the lines above; try again, or choose another --port",
            )
        bound = server.servers[0].sockets[0].getsockname()[1] if server.servers else self.port
        log.info(ANNOUNCED, self.host, bound)
        self.api_server, self.api_thread = server, thread

    def serve(self) -> None:
        """Run until SIGTERM/SIGINT."""
        found = self.load()
        if self.port is not None:
            self._start_api()
        done = threading.Event()

        def stop(*_args):
            self.stopping.set()
            done.set()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGHUP, self.reload)
        self.scheduler.start()
        # What serving loaded (the API's routes and models, the schema validators, uvicorn)
        # lives as long as the process, and ``hub``'s entry point froze only what was loaded
        # before the command ran. Frozen too, it is no longer walked by every full collection,
        # each of which held up the request that set it off (bench/ingest.py: the platform's
        # batch p99 from about 105 ms to about 55 ms). A reload's new config is not frozen.
        gc.collect()
        gc.freeze()
        log.info("hub serve: %s schedule(s) on %s", len(found), self.hub.store.engine.url.render_as_string(hide_password=True))
        away = False  # said once when the store goes away, once when it is back: not every second
        while not done.wait(1.0):
            try:
                self.poll_commands()
            except (HubError, DatabaseError) as exc:  # the store is away for a moment: try again next second
                if not away:
                    log.error("store unavailable: cannot read schedule commands: %s", as_hub_error(exc))
                away = True
            else:
                if away:
                    log.info("store available again: schedule commands are read")
                away = False
        if self.api_server is not None:
            self.api_server.should_exit = True
            self.api_thread.join(timeout=35)
        self.scheduler.shutdown(wait=True)  # running runs stop after their current batch commits
        self.hub.close()
