"""Benchmark: 100,000 donations pushed from one hub to a platform hub, beside a bare floor.

    python bench/ingest.py [--records 100000] [--batch 500]

End to end: a pushing hub drains its outbox of ``--records`` donation versions into the
``wasl`` destination, which posts them in batches to a platform hub (``hub serve``, its own
process and SQLite store) that authenticates the token, validates every record against the
common schema, checks its association, stores it, writes the audit entry and the idempotency
answer, and answers per record; the pusher marks each batch delivered. The floor, measured in
the same run: the very same request bodies posted, one after another, to a bare endpoint in
its own process (the same uvicorn server) that only parses the JSON and answers.
The last line reads ``ratio=R`` (end-to-end time / floor time). ``--store URL --store-alone URL``
put the two platform hubs on two empty PostgreSQL databases, as a platform runs in production.

For scale it also prints the platform alone (the same bodies posted in turn by a bare client
to a second, empty platform hub: the platform's share of end to end, without the pusher), the
pusher alone (a second pushing hub draining the same outbox into the bare endpoint: the
sender's share, as if the platform cost nothing) and two storage floors: the same records
written by the stdlib sqlite3 driver alone, one commit per batch, into a plain table (a key
and the JSON), and into the records table of a new hub store, with the indexes its readers
need (natural key, association, change feed, pages by entity, distributions' filters), each
row's columns as the hub writes them. A platform that answers each record's fate (accepted,
unchanged, rejected) must have stored it before it answers, so end to end can never be
faster than the HTTP floor and the records-table floor together.
"""

from __future__ import annotations

import argparse
import gc
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import orjson

from hub.localport import free_port

CHANNELS = ["bank_transfer", "cash", "platform"]


def _wait_ready(url: str, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited: {url}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"server not ready: {url}")


def floor_app():
    """The bare endpoint: parse the JSON body, answer a small JSON. Nothing else."""
    from starlette.applications import Starlette
    from starlette.responses import Response
    from starlette.routing import Route

    async def batch(request):
        body = orjson.loads(await request.body())
        return Response(orjson.dumps({"accepted": len(body["records"])}), media_type="application/json")

    async def ready(request):
        return Response(b"{}", media_type="application/json")

    return Starlette(routes=[Route("/api/v1/{entity}/batch", batch, methods=["POST"]), Route("/readyz", ready)])


def _store_floor(db: Path, versions: list[tuple], batch: int) -> float:
    """Seconds to insert the records' keys and JSON with sqlite3 alone, one commit per batch."""
    import sqlite3

    conn = sqlite3.connect(db)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("CREATE TABLE records (key TEXT PRIMARY KEY, version INTEGER, hash TEXT, data TEXT)")
    t0 = time.perf_counter()
    for start in range(0, len(versions), batch):
        conn.executemany("INSERT INTO records VALUES (?, ?, ?, ?)", versions[start : start + batch])
        conn.commit()
    seconds = time.perf_counter() - t0
    conn.close()
    return seconds


def _records_table_floor(folder: Path, versions: list[tuple], batch: int) -> float:
    """Seconds to insert the records into a new hub store's records table with sqlite3 alone.

    The rows are those the platform writes for an API batch (every column of
    ``hub.store.records._insert``, values as the hub's column types give them to the driver);
    what is left out is everything else a batch does: parsing, validation, the key lookup,
    the change counter, the audit entry, the idempotency answer, SQLAlchemy.
    """
    import sqlite3

    from hub.app import Hub
    from hub.store.bulk import db_value
    from hub.store.models import records_table
    from hub.store.records import _INSERT_COLUMNS
    from hub.store.types import utcnow

    folder.mkdir()
    (folder / "hub.yaml").write_text("store: sqlite:///hub.db\n", encoding="utf-8")
    hub = Hub.from_path(folder / "hub.yaml")
    with hub.store.engine.connect() as conn:
        stamp = db_value(conn, records_table, "created_at", utcnow())
        path = conn.engine.url.database
    hub.close()
    rows = [
        ("donation", key, "assoc-bench", data, digest, 1, "api:bench", None, stamp, stamp, n + 1, 1, 1)
        for n, (key, _v, digest, data) in enumerate(versions)
    ]
    sql = f"INSERT INTO records ({', '.join(_INSERT_COLUMNS)}) VALUES ({', '.join('?' * len(_INSERT_COLUMNS))})"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    t0 = time.perf_counter()
    for start in range(0, len(rows), batch):
        conn.executemany(sql, rows[start : start + batch])
        conn.commit()
    seconds = time.perf_counter() - t0
    conn.close()
    return seconds


def cpu_seconds(pid: int) -> float | None:
    """CPU time (user + system, every thread) a process has used so far; None where /proc is not."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def donation(i: int) -> dict:
    return {
        "id": f"D{i:08d}",
        "association_id": "assoc-bench",
        "donor": {"name": "فاطمة علي"},
        "amount": f"{1000 + i % 50000}.50",
        "currency": "SYP",
        "donated_at": f"2026-{1 + i % 12:02d}-{1 + i % 28:02d}T10:00:00+03:00",
        "channel": CHANNELS[i % 3],
        "status": "pledged",
        "reference": f"REF-{i:08d}",
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=100_000)
    ap.add_argument("--batch", type=int, default=500)
    ap.add_argument("--store", help="the platform hub's store: an empty database's URL (PostgreSQL); default its own SQLite file")
    ap.add_argument("--store-alone", help="with --store: a second empty database, for the platform alone")
    ap.add_argument("--floor-server", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if bool(args.store) != bool(args.store_alone):
        ap.error("--store and --store-alone go together: the two platform hubs need a database each")
    if args.floor_server:
        import uvicorn

        uvicorn.run(floor_app(), host="127.0.0.1", port=args.floor_server, log_level="warning")
        return

    import connectors.wasl as wasl
    from hub.app import Hub
    from hub.pipeline.prepare import canonical
    from hub.pipeline.run import drain_destinations
    from hub.services import tokens
    from hub.store import outbox
    from hub.store.types import utcnow

    # The pushing hub runs in this process: its modules frozen out of the collector's walks,
    # as the ``hub`` command's entry point does for a run or a server (hub.cli.main).
    gc.freeze()
    work = Path(tempfile.mkdtemp(prefix="wasl-bench-ingest-"))
    env = {k: v for k, v in os.environ.items() if k != "HUB_STORE"}

    def platform_hub(name: str, store: str | None) -> tuple[int, str, subprocess.Popen]:
        """A platform hub of its own (folder, store, token) served on a free port."""
        (work / name).mkdir()
        (work / name / "hub.yaml").write_text(f"store: {store or 'sqlite:///hub.db'}\n", encoding="utf-8")
        hub = Hub.from_path(work / name / "hub.yaml")
        token = tokens.create(hub, "bench", association="assoc-bench", platform=False, read=True, write=True)["token"]
        hub.close()
        at = free_port()
        return (
            at,
            token,
            subprocess.Popen([sys.executable, "-m", "hub", "-c", str(work / name / "hub.yaml"), "serve", "--port", str(at)], env=env),
        )

    port, secret, platform_proc = platform_hub("platform", args.store)
    alone_port, alone_secret, alone_proc = platform_hub("platform-alone", args.store_alone)
    floor_port = free_port()
    servers = [platform_proc, alone_proc, subprocess.Popen([sys.executable, __file__, "--floor-server", str(floor_port)], env=env)]
    try:
        _wait_ready(f"http://127.0.0.1:{port}/readyz", servers[0])
        _wait_ready(f"http://127.0.0.1:{alone_port}/readyz", servers[1])
        _wait_ready(f"http://127.0.0.1:{floor_port}/readyz", servers[2])

        def pushing_hub(name: str, to_port: int) -> Hub:
            """An association hub whose outbox holds every record version for ``platform``."""
            (work / name).mkdir()
            (work / name / "hub.yaml").write_text(
                f"store: sqlite:///hub.db\nconnections:\n  platform:\n    connector: wasl\n"
                f"    settings: {{url: 'http://127.0.0.1:{to_port}', token: '${{BENCH_TOKEN}}', batch_size: {args.batch}}}\n",
                encoding="utf-8",
            )
            hub = Hub.from_path(work / name / "hub.yaml")
            with hub.store.engine.begin() as conn:
                outbox.enqueue(conn, ["platform"], "donation", versions, run_id=None, now=utcnow())
            return hub

        os.environ["BENCH_TOKEN"] = secret
        versions = []
        for i in range(args.records):
            data, digest = canonical(donation(i))
            versions.append((f"assoc-bench|D{i:08d}", 1, digest, data))
        pusher = pushing_hub("pusher", port)

        # Time each batch the connector sends (its write call), for the latency figures.
        latencies: list[float] = []
        original = wasl.WaslConnector.write

        def timed(self, entity, deliveries):
            t = time.perf_counter()
            try:
                return original(self, entity, deliveries)
            finally:
                latencies.append(time.perf_counter() - t)

        wasl.WaslConnector.write = timed
        platform_cpu0, pusher_cpu0 = cpu_seconds(platform_proc.pid), time.process_time()
        t0 = time.perf_counter()
        result = drain_destinations(pusher, ["platform"], None)
        e2e = time.perf_counter() - t0
        pusher_cpu, platform_cpu = time.process_time() - pusher_cpu0, cpu_seconds(platform_proc.pid)
        platform_cpu = platform_cpu - platform_cpu0 if platform_cpu is not None else None
        wasl.WaslConnector.write = original
        assert result["delivered"] == args.records and not result["errors"], result
        got = httpx.get(f"http://127.0.0.1:{port}/metrics").text
        assert f'wasl_records{{entity="donation"}} {float(args.records)}' in got, "the platform does not hold every record"

        # The floor: the same request bodies, posted in turn to the bare endpoint.
        bodies = []
        for start in range(0, args.records, args.batch):
            chunk = versions[start : start + args.batch]
            bodies.append(
                b'{"records":[' + b",".join(v[3].encode() for v in chunk) + b'],"versions":[' + b",".join(b"1" for _ in chunk) + b"]}"
            )
        floor_latencies = []
        with httpx.Client(timeout=60) as client:
            t0 = time.perf_counter()
            for body in bodies:
                t = time.perf_counter()
                r = client.post(
                    f"http://127.0.0.1:{floor_port}/api/v1/donation/batch",
                    content=body,
                    headers={"Content-Type": "application/json", "Authorization": f"Bearer {secret}", "Idempotency-Key": "x"},
                )
                r.raise_for_status()
                floor_latencies.append(time.perf_counter() - t)
            floor = time.perf_counter() - t0
        # The platform alone: the same bodies posted in turn to a second, empty platform hub by a
        # bare client, so the platform's own share of end to end shows (no pusher, no outbox).
        alone_latencies = []
        with httpx.Client(timeout=60) as client:
            t0 = time.perf_counter()
            for n, body in enumerate(bodies):
                t = time.perf_counter()
                r = client.post(
                    f"http://127.0.0.1:{alone_port}/api/v1/donation/batch",
                    content=body,
                    headers={"Content-Type": "application/json", "Authorization": f"Bearer {alone_secret}", "Idempotency-Key": f"b{n}"},
                )
                alone_latencies.append(time.perf_counter() - t)
                assert r.status_code == 200 and r.json()["accepted"] == min(args.batch, args.records - n * args.batch), r.text
            platform_alone = time.perf_counter() - t0
        # The pushing hub alone: the same drain (outbox read, requests, each batch marked
        # delivered in its own commit) against the bare endpoint, as if the platform cost nothing.
        pusher_alone_hub = pushing_hub("pusher-alone", floor_port)
        t0 = time.perf_counter()
        alone = drain_destinations(pusher_alone_hub, ["platform"], None)
        pusher_alone = time.perf_counter() - t0
        assert alone["delivered"] == args.records, alone
        pusher_alone_hub.close()
        # What storing alone costs, for scale: the same records (key and canonical JSON) written
        # with the stdlib sqlite3 driver into one plain table, one transaction per batch.
        store_floor = _store_floor(work / "store-floor.db", versions, args.batch)
        # And into the table the platform keeps them in, with the indexes its readers use.
        table_floor = _records_table_floor(work / "table-floor", versions, args.batch)
        pusher.close()
    finally:
        for p in servers:
            p.send_signal(signal.SIGTERM)
        for p in servers:
            p.wait(timeout=60)

    def pct(xs, q):
        xs = sorted(xs)
        return xs[min(len(xs) - 1, int(q * len(xs)))]

    store = args.store.split(":")[0] if args.store else "sqlite"
    print(f"records={args.records} batch={args.batch} batches={len(bodies)} platform store={store}")
    print(
        f"end_to_end: {e2e:.2f} s  {args.records / e2e:,.0f} records/s  batch p50={statistics.median(latencies) * 1000:.1f} ms p99={pct(latencies, 0.99) * 1000:.1f} ms"
    )
    print(
        f"floor:      {floor:.2f} s  {args.records / floor:,.0f} records/s  batch p50={statistics.median(floor_latencies) * 1000:.1f} ms p99={pct(floor_latencies, 0.99) * 1000:.1f} ms"
    )
    print(
        f"platform alone (the same bodies posted in turn, no pusher): {platform_alone:.2f} s  {args.records / platform_alone:,.0f} records/s"
        f"  batch p50={statistics.median(alone_latencies) * 1000:.1f} ms p99={pct(alone_latencies, 0.99) * 1000:.1f} ms"
    )
    print(f"pusher alone (the same drain against the bare endpoint): {pusher_alone:.2f} s  {args.records / pusher_alone:,.0f} records/s")
    print(f"storage floor (sqlite3 executemany, one commit per batch): {store_floor:.2f} s  {args.records / store_floor:,.0f} records/s")
    if platform_cpu is not None:
        # Work, not waiting: the two processes' CPU over end to end. Spread perfectly over every
        # core, end to end could not take less than their sum divided by the cores.
        cores = os.cpu_count() or 1
        print(
            f"cpu during end to end: platform {platform_cpu:.2f} s, pusher {pusher_cpu:.2f} s; "
            f"on {cores} cores no less than {(platform_cpu + pusher_cpu) / cores:.2f} s"
        )
    print(
        f"storage floor in a hub's records table (its indexes, sqlite3 alone): {table_floor:.2f} s  {args.records / table_floor:,.0f} records/s"
    )
    print(f"records-table floor / HTTP floor = {table_floor / floor:.2f}  (what storing alone costs, in units of the floor)")
    print(f"end to end / (HTTP floor + records-table floor) = {e2e / (floor + table_floor):.2f}")
    print(f"ratio={e2e / floor:.2f}")


if __name__ == "__main__":
    main()
