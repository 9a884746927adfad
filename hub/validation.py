"""Record validation against the common schema: fast on the hot path, detailed on failure.

Validators are compiled once per entity with jsonschema-rs (formats checked: date-time,
date, e-mail, uri, and ``account``: an IBAN's check digits, see hub.accounts), and
``is_valid`` answers for the records that pass, which is nearly all of them. Only a record that fails is walked again for every error, each reported as a
:class:`~hub.errors.RecordProblem` with its dotted field path and the rule it broke.
"""

from __future__ import annotations

import json
from functools import cache

import jsonschema_rs

from hub.accounts import account_problem, is_account
from hub.errors import RecordProblem
from hub.schema import load_schema

__all__ = ["RecordValidator", "validator_for"]


def _dotted(path) -> str:
    return ".".join(str(p) for p in path) if path else "(record)"


def _rule(schema_path) -> str:
    # The keyword is the last part of the schema path that is not an index or a $ref hop.
    for part in reversed(list(schema_path)):
        if isinstance(part, str) and part not in ("$ref",):
            return part
    return "schema"


_SHOWN = 60  # characters of an offending value a message repeats


def _shortened(message: str, instance: object) -> str:
    """``message`` with a long offending text value cut to its start and its length.

    The validator quotes the whole value; a 100,000-character field would be repeated in the
    API's answer, the quarantine and the web admin. The start identifies it well enough.
    """
    if not isinstance(instance, str) or len(instance) <= _SHOWN:
        return message
    quoted = json.dumps(instance, ensure_ascii=False)
    if quoted in message:
        return message.replace(quoted, f'{json.dumps(instance[:_SHOWN], ensure_ascii=False)[:-1]}…" ({len(instance)} characters)', 1)
    return message


class RecordValidator:
    """Validates records of one entity; compiled once, shared by every batch."""

    def __init__(self, entity: str) -> None:
        self.entity = entity
        self.schema = load_schema(entity)
        self._compiled = jsonschema_rs.Draft202012Validator(self.schema, validate_formats=True, formats={"account": is_account})
        self.is_valid = self._compiled.is_valid

    def problems(self, record: object) -> list[RecordProblem]:
        """Every problem with ``record``, in a stable order; empty when it is valid."""
        found = []
        for err in self._compiled.iter_errors(record):
            path = list(err.instance_path)
            rule = _rule(err.schema_path)
            if rule == "required" or rule == "dependentRequired":
                # Name the missing field in the path, as a person reads it.
                missing = err.message.split('"')[1] if '"' in err.message else ""
                if missing:
                    path = [*path, missing]
            message = self._expected(err) or err.message
            found.append(RecordProblem(path=_dotted(path), rule=rule, message=_shortened(message, err.instance)))
        return sorted(found, key=lambda p: (p.path, p.rule))

    def _expected(self, err) -> str | None:
        """A pattern failure of a shared definition, said in words (its ``x-expected``), not as the regex.

        "does not match" and a regular expression tells an accountant nothing; "is not a valid
        identifier: 1 to 120 characters, no space at either end, …" does. The schema keeps the pattern for machines.
        """
        where = list(err.schema_path)
        if where and where[-1] == "format" and isinstance(err.instance, str) and account_problem(err.instance):
            return account_problem(err.instance)
        if len(where) < 3 or where[-1] != "pattern" or where[-3] != "$defs":
            return None
        expected = self.schema["$defs"].get(where[-2], {}).get("x-expected")
        return f"{json.dumps(err.instance, ensure_ascii=False)} is not a valid {where[-2]}: {expected}" if expected else None


@cache
def validator_for(entity: str) -> RecordValidator:
    """The shared, compiled validator of ``entity``."""
    return RecordValidator(entity)
