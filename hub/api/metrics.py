"""Prometheus metrics: request counts and latency measured in-process, store figures read at scrape.

Counters of runs, records and failures come from the store when ``/metrics`` is scraped, so
every ``hub serve`` instance on a shared store reports the same truth and nothing is lost
when one restarts. Request latency is per process, labelled by route template (never by raw
path, which would let a caller create unbounded label values).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import func, select

from hub.api.access import log_request
from hub.app import Hub
from hub.store.models import outbox_table, quarantine_table, records_table, runs_table

__all__ = ["MeasureRequests", "Metrics"]


class _StoreCollector:
    """Figures read from the store at each scrape, through the hub the server holds then.

    ``hub serve`` replaces its hub when the config is reloaded (SIGHUP), and the new config
    may name another store: the collector asks for the current hub each time.
    """

    def __init__(self, current_hub: Callable[[], Hub]) -> None:
        self.current_hub = current_hub

    def collect(self):
        runs = GaugeMetricFamily("wasl_runs", "Runs in the store, by connection and status", labels=["connection", "status"])
        records = GaugeMetricFamily("wasl_records", "Records in the store (current versions), by entity", labels=["entity"])
        quarantine = GaugeMetricFamily("wasl_quarantine_open", "Records waiting in quarantine, by connection", labels=["connection"])
        outbox = GaugeMetricFamily("wasl_outbox_pending", "Record versions waiting for delivery, by destination", labels=["destination"])
        duration = GaugeMetricFamily("wasl_last_run_seconds", "Duration of each connection's last finished run", labels=["connection"])
        # When each connection's (and job's) work last came through: what an alert on a sync
        # or a nightly backup that stopped happening compares with time(). A partial run
        # counts: its quarantined rows and deferred deliveries have gauges of their own.
        completed = GaugeMetricFamily(
            "wasl_last_completed_run_timestamp_seconds",
            "When each connection's or job's latest succeeded or partial run finished (Unix time)",
            labels=["connection"],
        )
        skipped = GaugeMetricFamily(
            "wasl_skipped_slots", "Scheduled slots skipped because the connection was still running, by connection", labels=["connection"]
        )
        r, q, o, rec = runs_table, quarantine_table, outbox_table, records_table
        with self.current_hub().store.engine.connect() as conn:
            for connection, status, n in conn.execute(
                select(r.c.connection, r.c.status, func.count()).group_by(r.c.connection, r.c.status)
            ):
                runs.add_metric([connection, status], n)
            # One skipped run stands for every slot skipped while one run held the connection.
            for connection, n in conn.execute(
                select(r.c.connection, func.sum(r.c.attempts)).where(r.c.status == "skipped").group_by(r.c.connection)
            ):
                skipped.add_metric([connection], n)
            for entity, n in conn.execute(select(rec.c.entity, func.count()).group_by(rec.c.entity)):
                records.add_metric([entity], n)
            for connection, n in conn.execute(select(q.c.connection, func.count()).where(q.c.status == "open").group_by(q.c.connection)):
                quarantine.add_metric([connection], n)
            for destination, n in conn.execute(
                select(o.c.destination, func.count()).where(o.c.status == "pending").group_by(o.c.destination)
            ):
                outbox.add_metric([destination], n)
            last = (
                select(r.c.connection, func.max(r.c.id).label("id"))
                .where(r.c.finished_at.is_not(None), r.c.status != "skipped")  # a skipped slot did not run
                .group_by(r.c.connection)
                .subquery()
            )
            for connection, started, finished in conn.execute(
                select(r.c.connection, r.c.started_at, r.c.finished_at).join(last, r.c.id == last.c.id)
            ):
                if started and finished:
                    duration.add_metric([connection], (finished - started).total_seconds())
            for connection, finished in conn.execute(
                select(r.c.connection, func.max(r.c.finished_at)).where(r.c.status.in_(("succeeded", "partial"))).group_by(r.c.connection)
            ):
                completed.add_metric([connection], finished.timestamp())
        yield from (runs, records, quarantine, outbox, duration, completed, skipped)


class Metrics:
    """One registry per application (tests build several apps in one process)."""

    def __init__(self, current_hub: Callable[[], Hub]) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("wasl_http_requests", "HTTP requests answered", ["method", "route", "status"], registry=self.registry)
        self.latency = Histogram(
            "wasl_http_request_seconds",
            "Time to answer an HTTP request",
            ["route"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=self.registry,
        )
        self.ingested = Counter(
            "wasl_ingested_records", "Records received over the API, by entity and fate", ["entity", "status"], registry=self.registry
        )
        self.registry.register(_StoreCollector(current_hub))

    def observe(self, method: str, route: str, status: int, started: float) -> None:
        """Count one answered request and its latency."""
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(route).observe(time.perf_counter() - started)


class MeasureRequests:
    """ASGI middleware: count every HTTP request and time it, labelled by its route template (and log it: hub.api.access).

    A plain ASGI wrapper rather than ``@app.middleware("http")``: Starlette's BaseHTTPMiddleware
    runs each request in an extra task and pipes the response through a memory stream, which
    cost about as much as parsing a 500-record batch (bench/ingest.py).
    """

    def __init__(self, app, metrics: Metrics, access_log: Callable[[], bool] = lambda: False) -> None:
        self.app = app
        self.metrics = metrics
        self.access_log = access_log  # asked per request: a reloaded config turns it on or off

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the server answers when the app raises before it starts a response

        async def send_and_note(message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            route = scope.get("route")
            self.metrics.observe(scope["method"], getattr(route, "path", "(unmatched)"), status, started)
            if self.access_log():
                log_request(scope, status, started)
