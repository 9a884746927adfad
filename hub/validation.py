"""Record validation against the common schema: fast on the hot path, detailed on failure.

Validators are compiled once per entity with jsonschema-rs (formats checked: date-time,
date, e-mail, uri, and ``account``: an IBAN's check digits, see hub.accounts), and
``is_valid`` answers for the records that pass, which is nearly all of them. Only a record
that fails is walked again for every error, each reported as a
:class:`~hub.errors.RecordProblem` with its dotted field path and the rule it broke.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from functools import cache

import jsonschema_rs

from hub.accounts import account_problem, declared_iban_problem
from hub.consistency import CHECKS
from hub.currencies import currency_code
from hub.errors import RecordProblem
from hub.schema import load_schema
from hub.text.nearest import did_you_mean

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


_LISTED = 8  # allowed values a message names whole; past that, the validator's first two and a count


def _not_allowed(err) -> str | None:
    """A value outside an ``enum``, said with the list when it is short and the nearest allowed value when there is one.

    The validator names two values and a count: "SYR" (Syria's country code, typed for its
    currency) got 'is not one of "AED", "AFN" or 153 other candidates', and of five channels
    "bank" was told two.
    """
    if not isinstance(err.kind, jsonschema_rs.ValidationErrorKind.Enum):
        return None
    options = tuple(err.kind.options)
    if len(options) <= _LISTED:
        names = [json.dumps(o, ensure_ascii=False) for o in options]
        message = f"{json.dumps(err.instance, ensure_ascii=False)} is not one of " + (
            f"{', '.join(names[:-1])} or {names[-1]}" if len(names) > 1 else names[0]
        )
    else:
        message = err.message
    # A currency written as exports write it (ل.س, $, ليرة سورية) is told its code.
    on_currency = list(err.schema_path)[-3:] == ["$defs", "currency", "enum"]
    named = currency_code(err.instance) if on_currency and isinstance(err.instance, str) else None
    if named:
        return f"{message}; did you mean {json.dumps(named)}?"
    return message + did_you_mean(err.instance, options, quote=lambda o: json.dumps(o, ensure_ascii=False))


def _account_paths(schema: dict) -> tuple[tuple[str, ...], ...]:
    """Where an entity holds accounts: the paths of fields defined as ``$defs/account`` (``*``: list items)."""
    defs, found = schema.get("$defs", {}), []

    def walk(node: object, path: tuple[str, ...], depth: int) -> None:
        if not isinstance(node, dict) or depth > 8:
            return
        ref = node.get("$ref", "")
        if ref == "#/$defs/account":
            found.append(path)
            return
        if ref.startswith("#/$defs/"):
            walk(defs.get(ref.rsplit("/", 1)[1]), path, depth + 1)
        for name, sub in node.get("properties", {}).items():
            walk(sub, (*path, name), depth + 1)
        walk(node.get("items"), (*path, "*"), depth + 1)

    walk(schema, (), 0)
    return tuple(found)


def _accounts_at(record: object, path: tuple[str, ...], at: tuple = (), parent: object = None):
    """``(path with list indexes, value, the object holding it)`` of each account ``path`` reaches in ``record``."""
    if not path:
        yield at, record, parent
        return
    head, rest = path[0], path[1:]
    if head == "*":
        if isinstance(record, list):
            for i, item in enumerate(record):
                yield from _accounts_at(item, rest, (*at, i), record)
    elif isinstance(record, dict) and head in record:
        yield from _accounts_at(record[head], rest, (*at, head), record)


def _account_problem_in(value: object, holder: object) -> str | None:
    """An account's problem; held to IBAN rules where the object holding it says ``scheme: iban``."""
    if not isinstance(value, str):
        return None
    if isinstance(holder, dict) and holder.get("scheme") == "iban":
        return declared_iban_problem(value)
    return account_problem(value)


class RecordValidator:
    """Validates records of one entity; compiled once, shared by every batch.

    The accounts' ``format: account`` (an IBAN's check digits, hub.accounts) is checked here in
    Python, on the few fields that hold accounts. It costs about 0.2 µs a record (2% of a
    sync of 200,000 donations); a jsonschema-rs custom format cost 0.25 µs, accounts or not.
    """

    def __init__(self, entity: str) -> None:
        self.entity = entity
        self.schema = load_schema(entity)
        self._compiled = jsonschema_rs.Draft202012Validator(self.schema, validate_formats=True)
        self._account_paths = _account_paths(self.schema)
        self.is_valid = self._compiled.is_valid if not self._account_paths else self._valid_with_accounts()
        self._consistency = CHECKS.get(entity)
        if self._consistency is not None:
            valid, agrees = self.is_valid, self._consistency
            self.is_valid = lambda record: valid(record) and not agrees(record)

    def _valid_with_accounts(self) -> Callable[[object], bool]:
        """``is_valid`` that also checks the accounts: a plain walk for fields, the general one for lists."""
        fast, problem = self._compiled.is_valid, account_problem
        plain = [p for p in self._account_paths if "*" not in p]
        listed = [p for p in self._account_paths if "*" in p]
        if not listed and len(plain) == 1 and len(plain[0]) == 2:
            # donation's donor.account: written out, as this runs once per record of every sync.
            outer, inner = plain[0]

            def is_valid_one(record: object) -> bool:
                if not fast(record):
                    return False
                node = record.get(outer)
                if node.__class__ is dict:
                    value = node.get(inner)
                    if value.__class__ is str and problem(value):
                        return False
                return True

            return is_valid_one

        def is_valid(record: object) -> bool:
            if not fast(record):
                return False
            for path in plain:
                node = record
                for key in path:
                    node = node.get(key) if node.__class__ is dict else None
                    if node is None:
                        break
                else:
                    if node.__class__ is str and problem(node):
                        return False
            for path in listed:
                for _at, value, holder in _accounts_at(record, path):
                    if _account_problem_in(value, holder):
                        return False
            return True

        return is_valid

    def _account_problems(self, record: object) -> list[RecordProblem]:
        found = []
        for path in self._account_paths:
            for at, value, holder in _accounts_at(record, path):
                message = _account_problem_in(value, holder)
                if message:
                    found.append(RecordProblem(path=_dotted(at), rule="format", message=message))
        return found

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
            if isinstance(err.kind, jsonschema_rs.ValidationErrorKind.AdditionalProperties):
                found += self._unexpected(err, path)
                continue
            below = self._below_zero(err)
            if below:
                found.append(RecordProblem(path=_dotted(path), rule="minimum", message=below))
                continue
            message = self._expected(err) or _not_allowed(err) or err.message
            found.append(RecordProblem(path=_dotted(path), rule=rule, message=_shortened(message, err.instance)))
        if self._account_paths:
            taken = {p.path for p in found}
            found += [p for p in self._account_problems(record) if p.path not in taken]
        if self._consistency is not None and not found and isinstance(record, dict):
            found += self._consistency(record)  # figures are compared once each is of its kind
        return sorted(found, key=lambda p: (p.path, p.rule))

    def _unexpected(self, err, path: list) -> list[RecordProblem]:
        """A field the schema does not have, named at its own path with the likely one it meant.

        The validator says "Additional properties are not allowed ('accounts' was unexpected)"
        at the object holding it; a sender who wrote ``donor.accounts`` for ``donor.account``
        is better told that, and where.
        """
        node = self._schema_at(list(err.schema_path)[:-1])
        fields = list(node.get("properties", {})) if isinstance(node, dict) else []
        holder = ".".join(str(p) for p in path) or self.entity
        return [
            RecordProblem(
                path=_dotted([*path, name]),
                rule="additionalProperties",
                message=_shortened(f"{json.dumps(name, ensure_ascii=False)} is not a field of {holder}", name)
                + did_you_mean(name, fields, quote=lambda f: json.dumps(f, ensure_ascii=False)),
            )
            for name in err.kind.unexpected
        ]

    def _schema_at(self, schema_path: list) -> object:
        """The part of this entity's schema a validator's ``schema_path`` leads to (``$ref`` hops followed)."""
        node: object = self.schema
        for part in schema_path:
            if part == "$ref" and isinstance(node, dict) and str(node.get("$ref", "")).startswith("#/$defs/"):
                node = self.schema["$defs"].get(node["$ref"].rsplit("/", 1)[1])
            elif isinstance(node, dict) and part in node:
                node = node[part]
            elif isinstance(node, list) and isinstance(part, int) and part < len(node):
                node = node[part]
            else:
                return None
        return node

    def _below_zero(self, err) -> str | None:
        """An amount or quantity written with a minus sign: what the sign meant goes in another field.

        Exports that book refunds or debits as negative amounts are common; "does not match"
        would not tell their author that the number is fine and the sign is the problem.
        """
        where = list(err.schema_path)
        if len(where) < 3 or where[-1] != "pattern" or where[-3] != "$defs" or where[-2] not in _UNSIGNED:
            return None
        value = err.instance
        pattern = self.schema["$defs"][where[-2]].get("pattern", "(?!)")
        if not (isinstance(value, str) and value.startswith("-") and re.fullmatch(pattern, value[1:])):
            return None
        return f"{json.dumps(value, ensure_ascii=False)} is below zero: {_UNSIGNED[where[-2]]}"

    def _expected(self, err) -> str | None:
        """A pattern or format failure of a shared definition, said in words (its ``x-expected``), not as the rule.

        "does not match" and a regular expression tells an accountant nothing; "is not a valid
        identifier: 1 to 120 characters, no space at either end, …" does. Nor does 'is not a
        "date-time"' say that what is missing is the UTC offset. The schema keeps the rule for machines.
        """
        where = list(err.schema_path)
        if len(where) < 3 or where[-1] not in ("pattern", "type", "format") or where[-3] != "$defs":
            return None
        if where[-1] == "type" and where[-2] != "amount":
            return None
        if where[-1] == "type" and isinstance(err.instance, int | float) and not isinstance(err.instance, bool):
            # A JSON number: its digits past what a float holds are already gone by the time it is read.
            return f'{json.dumps(err.instance)} is a JSON number; write amounts as text, like "1250.50", so that no digit is lost'
        expected = self.schema["$defs"].get(where[-2], {}).get("x-expected")
        return f"{json.dumps(err.instance, ensure_ascii=False)} is not a valid {where[-2]}: {expected}" if expected else None


# Why a shared definition takes no sign: an export that writes refunds or debits as negative
# amounts is told where that meaning goes instead (the number itself is fine).
_UNSIGNED = {
    "amount": "amounts are written without a sign; a refund is a donation with status refunded, money out of an account a bank line with direction debit",
    "quantity": "a quantity is written without a sign, as what was delivered",
}


@cache
def validator_for(entity: str) -> RecordValidator:
    """The shared, compiled validator of ``entity``."""
    return RecordValidator(entity)
