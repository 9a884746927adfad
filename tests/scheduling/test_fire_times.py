"""Schedules fire at the right times: the clock is moved by the test, never slept through.

The scheduler is the one ``hub serve`` runs (APScheduler with the hub's slot executor); only
its time source is replaced, the one thing a test cannot otherwise reach.
"""

from __future__ import annotations

import time
from datetime import datetime
from zoneinfo import ZoneInfo

import apscheduler.schedulers.base as aps_base

from hub.scheduling.server import HubServer

DAMASCUS = ZoneInfo("Asia/Damascus")


class Clock(datetime):
    current = datetime(2026, 11, 29, 0, 0, tzinfo=DAMASCUS)

    @classmethod
    def now(cls, tz=None):
        return cls.current if tz is None else cls.current.astimezone(tz)


def _runs(folder):
    return [r[0] for r in folder.sql("select scheduled_for from runs order by id")]


def _move_to(server, moment, folder, expect):
    Clock.current = moment
    server.scheduler.wakeup()
    deadline = time.monotonic() + 30
    while len(_runs(folder)) < expect and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)  # and nothing more than expected
    assert len(_runs(folder)) == expect, (moment, _runs(folder))


def test_a_daily_cron_fires_at_its_time_in_its_zone_once_a_day(folder, monkeypatch):
    folder.write(
        "hub.yaml",
        "store: sqlite:///hub.db\nconnections:\n  a:\n    connector: csv\n    settings: {path: a.csv}\n"
        "    streams:\n      s: {entity: association}\n    schedule: {cron: '0 2 * * *', timezone: Asia/Damascus}\n",
    )
    folder.write_csv("a.csv", ["id", "name_ar", "governorate", "status"], [["a1", "جمعية", "SY01", "active"]])
    monkeypatch.setattr(aps_base, "datetime", Clock)
    for name, value in folder.env.items():  # the store the suite runs on (HUB_STORE on PostgreSQL)
        monkeypatch.setenv(name, value)
    Clock.current = datetime(2026, 11, 29, 0, 0, tzinfo=DAMASCUS)
    server = HubServer(folder.path / "hub.yaml")
    server.load()
    server.scheduler.start()
    try:
        _move_to(server, datetime(2026, 11, 29, 1, 59, 59, tzinfo=DAMASCUS), folder, expect=0)
        _move_to(server, datetime(2026, 11, 29, 2, 0, 0, tzinfo=DAMASCUS), folder, expect=1)
        _move_to(server, datetime(2026, 11, 29, 23, 59, tzinfo=DAMASCUS), folder, expect=1)
        _move_to(server, datetime(2026, 11, 30, 2, 0, 30, tzinfo=DAMASCUS), folder, expect=2)
        # the hub was "down" for three days: the missed slots coalesce into one run
        _move_to(server, datetime(2026, 12, 3, 9, 0, tzinfo=DAMASCUS), folder, expect=3)
    finally:
        server.scheduler.shutdown()
        server.hub.close()
    slots = [datetime.fromisoformat(s if isinstance(s, str) else s.isoformat()) for s in _runs(folder)]
    slots = [s.replace(tzinfo=s.tzinfo or ZoneInfo("UTC")).astimezone(DAMASCUS) for s in slots]
    assert [s.strftime("%Y-%m-%d %H:%M") for s in slots] == ["2026-11-29 02:00", "2026-11-30 02:00", "2026-12-03 02:00"]
