"""An entity's fields as the columns of a file or a mapping name them: what each takes, in words.

The JSON Schema is the contract for programs; an association's IT staff writing a mapping
ask a shorter question: which columns can my export fill, which must it, and what does each
take. ``hub schema show ENTITY --fields`` answers it from here, and ``hub validate``
(:mod:`hub.services.validate`) names a misspelt column's likely field from the same list.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from hub.schema import load_schema

__all__ = ["Field", "schema_fields"]

_LISTED = 8  # allowed values named whole; past that, a count


@dataclass(frozen=True)
class Field:
    """One column a record of the entity may have: its dotted name, whether it is required, what it takes."""

    column: str
    required: bool
    takes: str
    description: str


def _resolved(node: dict, defs: dict) -> dict:
    """``node`` with the shared definition it names (``$ref``) beneath its own keys."""
    ref = node.get("$ref", "")
    if ref.startswith("#/$defs/"):
        return {**_resolved(defs[ref.rsplit("/", 1)[1]], defs), **{k: v for k, v in node.items() if k != "$ref"}}
    return node


def _takes(node: dict, defs: dict) -> str:
    """What a field takes, in words: its definition's ``x-expected``, its allowed values, or its kind."""
    if "x-expected" in node:
        return node["x-expected"]
    if "enum" in node:
        values = [json.dumps(v, ensure_ascii=False) for v in node["enum"]]
        if len(values) <= _LISTED:
            return "one of " + ", ".join(values)
        return f"one of {len(values)} codes, among them " + ", ".join(values[:3]) + " (hub schema show lists them)"
    kind = node.get("type", "")
    if kind == "array":
        items = _resolved(node.get("items", {}), defs)
        if "properties" in items:
            return "a list of objects, each with " + ", ".join(items["properties"])
        return f"a list (in a file: separated by ; or ,) of: {_takes(items, defs)}"
    if "pattern" in node:
        return f"text matching {node['pattern']}"
    if node.get("format") in ("date", "date-time"):
        return node["format"]
    names = {"string": "text", "integer": "a whole number", "number": "a number", "boolean": "true or false", "object": "an object"}
    return names.get(kind, kind or "any value")


def schema_fields(entity: str) -> list[Field]:
    """Every column :func:`hub.mapping.identity_spec` takes for ``entity``, an object's own fields dotted (``donor.name``)."""
    schema = load_schema(entity)
    defs = schema["$defs"]
    found: list[Field] = []

    def walk(node: dict, prefix: str, required_here: bool, depth: int) -> None:
        required = set(node.get("required", []))
        for name, sub in node.get("properties", {}).items():
            sub = _resolved(sub, defs)
            needed = required_here and name in required
            if "properties" in sub and depth < 3:
                walk(sub, f"{prefix}{name}.", needed, depth + 1)
            elif "properties" not in sub:
                found.append(Field(prefix + name, needed, _takes(sub, defs), sub.get("description", "")))

    walk(schema, "", True, 0)
    return found
