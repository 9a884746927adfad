"""A connection's ``schedule:`` as an APScheduler trigger, checked with the config's key path.

    schedule: {cron: "0 2 * * *"}                       # crontab: minute hour day month weekday
    schedule: "0 2 * * *"                               # the same, for short
    schedule: {every: {minutes: 15}, jitter: 30}        # an interval (weeks/days/hours/minutes/seconds)
    timezone: Asia/Damascus  start: 2026-01-01T00:00:00  end: ...  paused: true  retries: 2

Interval slots are counted from ``start`` (default: the first instant of 2026 in the schedule's
zone), so every scheduler computes the same slot times, and the store's unique run key lets
one run per slot through when several schedulers are up for availability. ``jitter`` delays
when a slot fires, never which slot it is (``Jittered``).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from hub.errors import ConfigError

__all__ = ["Jittered", "Schedule", "parse_schedule"]

_UNITS = {"weeks", "days", "hours", "minutes", "seconds"}
_LONGEST_EVERY = timedelta(days=366)
_KEYS = {"cron", "every", "timezone", "start", "end", "jitter", "paused", "retries", "retry_after_seconds"}


class Jittered(BaseTrigger):
    """The slots of ``slots``, each fired up to ``jitter`` seconds late at random, and still known as itself.

    APScheduler's own jitter hands the delayed time on as if it were the slot: two schedulers
    up for availability, each with its own draw, named one slot two ways and both ran it, and
    an interval counted on from a delayed time drifted off its grid. Here the delay moves only
    when a slot fires; ``slot_of`` says which slot a fire time stands for.
    """

    _REMEMBERED = 256  # fire times looked up soon after they are handed out; older ones are let go

    def __init__(self, slots: BaseTrigger, jitter: float) -> None:
        self.slots = slots
        self.jitter = jitter
        self._fired: dict[float, datetime] = {}  # fire time (as a timestamp) -> its slot

    def get_next_fire_time(self, previous_fire_time: datetime | None, now: datetime) -> datetime | None:
        previous = self.slot_of(previous_fire_time) if previous_fire_time else None
        slot = self.slots.get_next_fire_time(previous, now)
        if slot is None:
            return None
        fire = slot + timedelta(seconds=random.uniform(0, self.jitter))
        self._fired[fire.timestamp()] = slot
        while len(self._fired) > self._REMEMBERED:
            del self._fired[next(iter(self._fired))]
        return fire

    def slot_of(self, fire_time: datetime) -> datetime:
        """The slot ``fire_time`` was drawn for (itself, for a time this trigger did not hand out)."""
        return self._fired.get(fire_time.timestamp(), fire_time)

    def __str__(self) -> str:
        return f"{self.slots}, jitter {self.jitter:g} s"


@dataclass(frozen=True)
class Schedule:
    """When a connection runs, and what to do when a run fails."""

    connection: str
    trigger: object  # what APScheduler fires by (Jittered when the schedule has a jitter)
    description: str
    paused: bool = False
    retries: int = 2
    retry_after_seconds: float = 60.0

    @property
    def slots(self) -> BaseTrigger:
        """The schedule's slots, without the jitter's delay: what runs are kept under and admins are shown."""
        return self.trigger.slots if isinstance(self.trigger, Jittered) else self.trigger

    def next_slot(self, now: datetime) -> datetime | None:
        """The first slot after ``now`` (a jitter may fire it up to that many seconds later)."""
        return self.slots.get_next_fire_time(None, now)


def _moment(value, zone: ZoneInfo, where: str) -> datetime:
    try:
        dt = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    except ValueError:
        raise ConfigError(f"{where}: {value!r} is not a date and time (ISO 8601)") from None
    return dt if dt.tzinfo else dt.replace(tzinfo=zone)


def parse_schedule(connection: str, spec: dict, default_timezone: str, *, where: str | None = None) -> Schedule:
    """The schedule of ``connection`` (or of a job, ``job:NAME``); ConfigError names the key that is wrong and why."""
    where = where or f"connections.{connection}.schedule"
    unknown = set(spec) - _KEYS
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}", hint=f"known: {', '.join(sorted(_KEYS))}")
    try:
        zone = ZoneInfo(spec.get("timezone", default_timezone))
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"{where}.timezone: unknown time zone {spec.get('timezone')!r}") from None
    start = _moment(spec["start"], zone, f"{where}.start") if "start" in spec else datetime(2026, 1, 1, tzinfo=zone)
    end = _moment(spec["end"], zone, f"{where}.end") if "end" in spec else None
    jitter = spec.get("jitter")
    if ("cron" in spec) == ("every" in spec):
        raise ConfigError(f"{where}: give exactly one of cron or every")
    if "cron" in spec:
        try:
            trigger = CronTrigger.from_crontab(str(spec["cron"]), timezone=zone)
        except ValueError as exc:
            said = str(spec["cron"]).strip().lower()
            raise ConfigError(
                f"{where}.cron: {spec['cron']!r} is not a cron expression ({exc})",
                hint="for an interval write schedule: {every: {minutes: 15}} (weeks, days, hours, minutes or seconds)"
                if said.startswith(("every", "@every"))
                else "five fields: minute hour day month weekday, e.g. '0 2 * * *'",
            ) from None
        trigger = CronTrigger(**{f.name: str(f) for f in trigger.fields if not f.is_default}, timezone=zone, start_date=start, end_date=end)
        text = f"cron {spec['cron']} ({zone.key})"
    else:
        every = spec["every"]
        if (
            not isinstance(every, dict)
            or not every
            or set(every) - _UNITS
            or not all(isinstance(v, (int, float)) and v > 0 for v in every.values())
        ):
            raise ConfigError(f"{where}.every: give positive amounts of {', '.join(sorted(_UNITS))}, e.g. {{minutes: 15}}")
        try:
            too_long = timedelta(**every) > _LONGEST_EVERY
        except OverflowError:  # past what a timedelta holds: longer still
            too_long = True
        if too_long:
            raise ConfigError(f"{where}.every: {every} is longer than a year", hint="use cron for runs rarer than that, e.g. '0 2 1 1 *'")
        trigger = IntervalTrigger(**every, timezone=zone, start_date=start, end_date=end)
        text = "every " + ", ".join(f"{v} {k}" for k, v in every.items())
    retries = spec.get("retries", 2)
    if not isinstance(retries, int) or retries < 0:
        raise ConfigError(f"{where}.retries: a whole number, 0 or more")
    if jitter:
        trigger = Jittered(trigger, float(jitter))
        text += f", up to {jitter:g} s late"
    return Schedule(connection, trigger, text, bool(spec.get("paused", False)), retries, float(spec.get("retry_after_seconds", 60)))
