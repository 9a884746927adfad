"""What a record says about itself must add up: checks across fields that JSON Schema cannot say.

- A distribution's women and men reached are among the people reached (``female + male <=
  individuals``), and a household is at least one person (``households <= individuals``).
- A program ends on or after the day it starts.

Figures that do not add up are mostly a slip in a field team's sheet (a digit typed twice, two
columns swapped). Stored, they would swell what the platform reports as reached, so the record
goes to quarantine with the figures named, for the team to correct.
"""

from __future__ import annotations

from collections.abc import Callable

from hub.errors import RecordProblem

__all__ = ["CHECKS"]


def _count(record: dict, name: str) -> int | None:
    value = record.get(name)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _distribution(record: dict) -> list[RecordProblem]:
    people, women, men, households = (_count(record, n) for n in ("individuals", "female", "male", "households"))
    if people is None:
        return []
    found = []
    parts = [(n, v) for n, v in (("female", women), ("male", men)) if v is not None]
    if sum(v for _n, v in parts) > people:
        said = " and ".join(f"{n} ({v})" for n, v in parts)
        total = f" make {sum(v for _n, v in parts)}," if len(parts) > 1 else " is"
        found.append(RecordProblem("individuals", "consistency", f"{said}{total} more than individuals ({people})"))
    if households is not None and households > people:
        found.append(
            RecordProblem(
                "households",
                "consistency",
                f"households ({households}) are more than individuals ({people}): a household is at least one person",
            )
        )
    return found


def _program(record: dict) -> list[RecordProblem]:
    start, end = record.get("start_date"), record.get("end_date")
    if isinstance(start, str) and isinstance(end, str) and end < start:  # ISO 8601 days sort as text
        return [RecordProblem("end_date", "consistency", f"the program ends ({end}) before it starts ({start})")]
    return []


CHECKS: dict[str, Callable[[dict], list[RecordProblem]]] = {"distribution": _distribution, "program": _program}
