"""Benchmark: 10,000 connections scheduled every minute, for a simulated hour, on the local executor.

    python bench/schedule.py [--connections 10000] [--minutes 60] [--workers 8]

The scheduler is the one ``hub serve`` uses (APScheduler with the hub's slot-passing thread
executor, coalescing, one instance per connection); the clock is simulated, so an hour takes
as long as the work does. At each minute the clock is moved to the slot and the scheduler's
own loop (``_process_jobs``) finds the due jobs and hands them to the executor; each job is a
trivial connection run that records when it started. The lag of a fire is the real time from
the moment the clock reached its slot to the moment its run started. The floor, measured in
the same run: the same executor running the same trivial jobs back to back, without the
scheduler. Figures: scheduler overhead per fire, lag p50/p99. The last line reads
``p99_lag_s=X`` (target: X < 1).

The jobs do no I/O on purpose: 600,000 real runs would measure the store, not the scheduler
(a run's own cost is measured by bench/pipeline.py).
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor, wait
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import apscheduler.schedulers.base as aps_base
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger

from hub.scheduling.server import _SlotExecutor

ZONE = ZoneInfo("Asia/Damascus")


class _Clock(datetime):
    """``datetime`` whose ``now`` is the simulated time (APScheduler asks ``datetime.now``)."""

    current = datetime(2026, 11, 29, 0, 0, tzinfo=ZONE)

    @classmethod
    def now(cls, tz=None):
        return cls.current if tz is None else cls.current.astimezone(tz)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--connections", type=int, default=10_000)
    ap.add_argument("--minutes", type=int, default=60)
    ap.add_argument("--workers", type=int, default=8)
    args = ap.parse_args()

    lags: list[float] = []
    started = threading.Lock()
    tick_start = [0.0]
    done = threading.Semaphore(0)

    floor_lags: list[float] = []
    recording = [lags]

    def job(connection: str, attempt: int = 0, scheduled_for=None, trigger: str = "schedule") -> None:
        now = time.perf_counter()
        with started:
            recording[0].append(now - tick_start[0])
        done.release()

    aps_base.datetime = _Clock  # the simulated clock, for the scheduler's loop only
    scheduler = BackgroundScheduler(
        executors={"default": _SlotExecutor(max_workers=args.workers)},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        timezone=ZONE,
    )
    trigger = CronTrigger(minute="*", timezone=ZONE)
    for i in range(args.connections):
        scheduler.add_job(job, trigger, id=f"c{i}", kwargs={"connection": f"c{i}"}, next_run_time=_Clock.current + timedelta(minutes=1))
    scheduler.start()

    fires = 0
    ticks: list[float] = []
    t_all = time.perf_counter()
    for minute in range(1, args.minutes + 1):
        _Clock.current = datetime(2026, 11, 29, 0, 0, tzinfo=ZONE) + timedelta(minutes=minute)
        tick_start[0] = time.perf_counter()
        scheduler.wakeup()  # the scheduler's own thread finds the slot due and fires it
        for _ in range(args.connections):
            done.acquire()
        fires += args.connections
        ticks.append(time.perf_counter() - tick_start[0])
    scheduled_s = time.perf_counter() - t_all
    scheduler.shutdown()

    recording[0] = floor_lags  # the same work per job, kept apart from the scheduled lags
    pool = ThreadPoolExecutor(max_workers=args.workers)
    t0 = time.perf_counter()
    futures = [pool.submit(job, f"c{i}") for i in range(fires)]
    wait(futures)
    floor_s = time.perf_counter() - t0
    pool.shutdown()

    lags.sort()
    p50 = statistics.median(lags)
    p99 = lags[int(len(lags) * 0.99) - 1]
    print(f"connections={args.connections} minutes={args.minutes} fires={fires:,} workers={args.workers}")
    print(f"scheduled: {scheduled_s:.2f}s in all, {scheduled_s / fires * 1e6:.1f} us per fire")
    print(f"floor (same jobs back to back on the executor): {floor_s:.2f}s, {floor_s / fires * 1e6:.1f} us per job")
    print(f"overhead per fire beyond the floor: {(scheduled_s - floor_s) / fires * 1e6:.1f} us")
    print(
        f"lag p50={p50:.3f}s p99={p99:.3f}s max={lags[-1]:.3f}s; slowest minutes took {', '.join(f'{t:.2f}s' for t in sorted(ticks)[-3:])}"
    )
    print(f"p99_lag_s={p99:.3f}")


if __name__ == "__main__":
    main()
