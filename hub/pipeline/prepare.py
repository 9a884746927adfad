"""Turning one raw source row into a stored record, or into a quarantine entry: the per-record work.

map (declarative) -> transforms (plugins) -> validate (compiled schema) -> natural key ->
canonical JSON and its digest. Everything here is per record and pure; the database work is
done once per batch in :mod:`hub.pipeline.batch`.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from hashlib import blake2b

import orjson

from hub.errors import RecordError, RecordProblem
from hub.exactjson import unwritable_problem
from hub.mapping import Mapping
from hub.readers.uncalculated import UncalculatedRow, formula_key_message
from hub.skiprules import SkipRules
from hub.store.records import MAX_KEY, Prepared, prepared_from
from hub.validation import validator_for

__all__ = ["Preparer", "Rejected", "canonical", "natural_key"]

_SORT = orjson.OPT_SORT_KEYS


def canonical(record: dict) -> tuple[str, str]:
    """Canonical JSON of a record (sorted keys, UTF-8, Arabic as is) and its 128-bit digest."""
    body = orjson.dumps(record, option=_SORT)
    return body.decode(), hashlib.blake2b(body, digest_size=16).hexdigest()


@dataclass(slots=True)
class Rejected:
    """A row that goes to quarantine: where it failed and why, with the raw payload.

    ``key`` is the natural key its fields gave, when they gave one: a row that failed on its
    amount is still in the source, and a run that looks for deleted rows must know it.
    """

    stage: str
    line: int | None
    raw: object
    problems: list[RecordProblem]
    key: str | None = None


_SCIENTIFIC = re.compile(r"[0-9](?:\.[0-9]+)?E\+[0-9]+")


def _spoilt_part(fields: tuple[str, ...], parts: list[str]) -> RecordProblem | None:
    """A key part a spreadsheet spoilt: in scientific notation, or a formula instead of its value.

    Excel saves a column of long receipt numbers as ``1.23457E+11`` when it is not formatted
    as text: many receipts then share one id, and each would overwrite the one before. A
    formula's text (``=ROW()``, kept where the workbook had no value for it) is the same for
    every row it was filled down.
    """
    for field, part in zip(fields, parts, strict=True):
        if _SCIENTIFIC.fullmatch(part):
            return RecordProblem(
                field,
                "key",
                f"{part!r} is a number in scientific notation: a spreadsheet rounded it, so several records would "
                "share it and overwrite each other; format the column as text and export the file again",
            )
        if part.startswith("="):
            return RecordProblem(field, "key", formula_key_message(part))
    return None


def _as_it_is(row: dict) -> dict:
    return row


def natural_key(record: dict | None, fields: tuple[str, ...]) -> str | None:
    """The key ``fields`` make of ``record`` as a stream's key is made; None unless each holds one plain value.

    For a record that failed (its key still names the row), and for a stored record's key on
    another hub, which keys by the entity's own fields (``hub compare``).
    """
    if not record:
        return None
    parts = [record.get(f) for f in fields]
    if any(p is None or p == "" or isinstance(p, dict | list) for p in parts):
        return None
    return "|".join(p if p.__class__ is str else str(p) for p in parts)


class Preparer:
    """Prepares rows of one stream; built once per run from the stream's config."""

    def __init__(
        self,
        entity: str,
        key: tuple[str, ...],
        mapping: Mapping | None,
        transforms: list[tuple[str, Callable]],
        context: dict,
        skip: SkipRules | None = None,
    ):
        self.entity = entity
        self.skip = skip
        self.key = key
        self.mapping = mapping
        self.transforms = transforms
        self.context = context
        self.validator = validator_for(entity)
        # The association a record belongs to: an association is its own (API scopes rely on it).
        self.owner_field = "id" if entity == "association" else "association_id"
        self._bound: tuple[Mapping | None, Callable] | None = None

    def _with_schema_problems(self, exc: RecordError) -> list[RecordProblem]:
        """Mapping problems plus what the schema says of the fields that did map: every error at once."""
        problems = list(exc.problems)
        if exc.partial is not None:
            failed = {p.path for p in problems}
            problems += [p for p in self.validator.problems(exc.partial) if p.path not in failed]
        return sorted(problems, key=lambda p: (p.path, p.rule))

    def prepare(self, raw: object, line: int | None) -> Prepared | Rejected | None:
        """One row through mapping, transforms and validation; None for a row the skip rules name."""
        return self.bound()(raw, line)

    def bound(self) -> Callable[[object, int | None], Prepared | Rejected | None]:
        """``prepare`` as a closure over this stream's mapping, transforms and validator.

        Loops that prepare every row of a file call this once and then the function it returns:
        everything a row needs is a local of the closure, not an attribute looked up per row.
        Built again if ``mapping`` was replaced (a source without one gets the identity mapping
        once its columns are known).
        """
        if self._bound is not None and self._bound[0] is self.mapping:
            return self._bound[1]
        mapping = self.mapping
        transforms = tuple(self.transforms)
        # Without a mapping the row is the record. It is copied only for transforms, which may
        # change it in place while the row must stay as it came for the quarantine.
        unmapped = dict if transforms else _as_it_is
        apply = mapping.apply if mapping is not None else unmapped
        apply_uncalculated = mapping.apply_uncalculated if mapping is not None else dict
        is_valid, problems_of = self.validator.is_valid, self.validator.problems
        key_fields, owner_field = self.key, self.owner_field
        with_schema_problems = self._with_schema_problems
        make, max_key = prepared_from, MAX_KEY
        skip = self.skip

        def prepare(raw: object, line: int | None) -> Prepared | Rejected | None:
            if not isinstance(raw, dict):
                return Rejected("read", line, raw, [RecordProblem("(record)", "type", "not an object")])
            if skip is not None and skip(raw):
                return None
            try:
                record = apply(raw) if raw.__class__ is not UncalculatedRow else apply_uncalculated(raw)
            except RecordError as exc:
                return Rejected("map", line, raw, with_schema_problems(exc), natural_key(exc.partial, key_fields))
            for name, fn in transforms:
                try:
                    record = fn(record, self.context)
                except RecordError as exc:
                    return Rejected("transform", line, raw, exc.problems)
                except Exception as exc:  # noqa: BLE001 - a plugin's bug quarantines the record, not the run
                    return Rejected(
                        "transform",
                        line,
                        raw,
                        [RecordProblem("(record)", name, f"transform {name} failed: {type(exc).__name__}: {exc}")],
                    )
                if not isinstance(record, dict):
                    return Rejected("transform", line, raw, [RecordProblem("(record)", name, f"transform {name} returned no record")])
            if not is_valid(record):
                return Rejected("validate", line, raw, problems_of(record), natural_key(record, key_fields))
            parts = []
            for field in key_fields:
                v = record.get(field)
                if v is None or v == "":
                    return Rejected("key", line, raw, [RecordProblem(field, "key", f"the natural key field {field!r} is empty")])
                if v.__class__ is str:
                    parts.append(v)
                elif isinstance(v, dict | list):
                    return Rejected("key", line, raw, [RecordProblem(field, "key", f"the natural key field {field!r} is not one value")])
                else:
                    parts.append(str(v))
            key = "|".join(parts)
            if "\x00" in key:
                # Only a stream's own key fields can hold one (identifiers may not): PostgreSQL
                # refuses a NUL in text, and the whole batch would fail with it, run after run.
                field = next(f for f, part in zip(key_fields, parts, strict=True) if "\x00" in part)
                return Rejected("key", line, raw, [RecordProblem(field, "key", f"the natural key field {field!r} holds a NUL character")])
            if "E+" in key or "=" in key:
                spoilt = _spoilt_part(key_fields, parts)
                if spoilt is not None:
                    return Rejected("key", line, raw, [spoilt])
            if len(key) > max_key:
                # A stream may key on fields of its own choosing; what it makes must fit the store's key.
                problem = RecordProblem(key_fields[-1], "key", f"the natural key is {len(key)} characters; at most {max_key} are kept")
                return Rejected("key", line, raw, [problem])
            try:
                body = orjson.dumps(record, option=_SORT)
            except TypeError:
                return Rejected("validate", line, raw, [unwritable_problem(record)])
            return make((key, body.decode(), blake2b(body, digest_size=16).hexdigest(), record.get(owner_field)))

        self._bound = (mapping, prepare)
        return prepare
