"""Checking the config, connector settings and settings schemas against JSON Schema.

Every command checks the config and each connector's settings before it does anything, so
this runs at every start. jsonschema-rs answers whether an instance is valid in microseconds;
jsonschema (pure Python, about 50 ms to import with its dependencies) is loaded only to word
the errors of something that fails, where its messages and paths are the better ones. Both
follow Draft 2020-12 without checking formats. Where the two could disagree (an instance
holding a type jsonschema-rs does not take, such as a date YAML parsed), jsonschema decides.
"""

from __future__ import annotations

import re
from typing import Any

import jsonschema_rs

from hub.text.nearest import did_you_mean

__all__ = ["problems_of", "schema_problem"]

# Compiled validators by schema object: schemas here are module or class constants, kept
# alive beside their validator so an id is never reused for another schema.
_compiled: dict[int, tuple[dict, Any]] = {}


def _validator(schema: dict):
    entry = _compiled.get(id(schema))
    if entry is None:
        try:
            compiled = jsonschema_rs.Draft202012Validator(schema, validate_formats=False)
        except (ValueError, TypeError, jsonschema_rs.ValidationError):
            compiled = None  # jsonschema-rs cannot compile it (a Python-only regex, say): jsonschema decides
        entry = _compiled[id(schema)] = (schema, compiled)
    return entry[1]


def problems_of(schema: dict, instance: Any, prefix: str = "") -> list[str]:
    """Every schema error of ``instance`` as ``key.path: message``, in document order; [] when valid."""
    compiled = _validator(schema)
    if compiled is not None:
        try:
            if compiled.is_valid(instance):
                return []
        except (ValueError, TypeError):
            pass
    import jsonschema

    out = []
    errors = [leaf for e in jsonschema.Draft202012Validator(schema).iter_errors(instance) for leaf in _leaves(e)]
    for e in sorted(errors, key=lambda e: list(map(str, e.absolute_path))):
        parts = [str(p) for p in e.absolute_path]
        path = ".".join(parts) if parts else "(top level)"
        where = f"{prefix}.{path}" if prefix and path != "(top level)" else (prefix or path)
        if e.validator == "additionalProperties" and isinstance(e.instance, dict) and isinstance(e.schema, dict):
            out += [f"{where}: {_unknown_key(key, e.schema)}" for key in _unknown_keys(e.instance, e.schema)]
            continue
        msg = e.message
        if e.validator == "type" and isinstance(e.schema, dict) and e.schema.get("description"):
            # "'5 minutes' is not of type 'object'" alone leaves the admin to guess the shape.
            msg += f"; {_sentence_part(e.schema['description'])}"
        if isinstance(e.schema, dict) and e.schema.get("writeOnly"):
            msg = msg.replace(repr(e.instance), "the value (a secret, not shown)")
        else:
            msg += did_you_mean(e.instance, getattr(e, "allowed", None) or (e.validator_value if e.validator == "enum" else ()))
        out.append(f"{where}: {msg}")
    return out


def _unknown_keys(instance: dict, schema: dict) -> list[str]:
    """The keys of ``instance`` that neither ``properties`` nor ``patternProperties`` of ``schema`` name."""
    patterns = [re.compile(p) for p in schema.get("patternProperties", {})]
    known = schema.get("properties", {})
    return [k for k in instance if k not in known and not any(p.search(str(k)) for p in patterns)]


def _unknown_key(key: object, schema: dict) -> str:
    """One key the schema does not take, with the one likely meant, else the keys it takes.

    "unknown key(s) ('connectr' was unexpected)" named the mistake but not the fix.
    """
    known = [k for k in schema.get("properties", {}) if isinstance(k, str)]
    near = did_you_mean(key, known)
    if near or not known:
        return f"unknown key {key!r}{near}"
    return f"unknown key {key!r} (the keys here: {', '.join(known)})"


def _sentence_part(text: str) -> str:
    """A description to follow a semicolon: its first letter lowercased, unless it starts a name or a code."""
    return text[0].lower() + text[1:] if len(text) > 1 and text[0].isupper() and text[1].islower() else text


def _leaves(error) -> list:
    """The errors worth showing for ``error``: for a failed oneOf/anyOf, those of the branch meant.

    "is not valid under any of the given schemas" names no key. The branch meant is the one
    whose ``const``/``enum`` (an ``auth: {type: bearer}`` tag) the instance matched; among
    several, the one with the fewest errors. When no branch's tag matched, the tag's error
    says which values it may take.
    """
    if error.validator not in ("oneOf", "anyOf") or not error.context:
        return [error]
    branches: dict[int, list] = {}
    for sub in error.context:
        branches.setdefault(sub.relative_schema_path[0], []).append(sub)
    tagged = [errs for errs in branches.values() if not any(e.validator in ("const", "enum") for e in errs)]
    if tagged:
        return [leaf for e in min(tagged, key=len) for leaf in _leaves(e)]
    tags = [e for errs in branches.values() for e in errs if e.validator in ("const", "enum")]
    if tags and len({tuple(e.absolute_path) for e in tags}) == 1:
        allowed = [v for e in tags for v in ([e.validator_value] if e.validator == "const" else e.validator_value)]
        tags[0].message = f"{tags[0].instance!r} is not one of {', '.join(map(repr, allowed))}"
        tags[0].allowed = allowed
        return [tags[0]]
    return [error]


def schema_problem(schema: Any) -> str | None:
    """Why ``schema`` is not a valid Draft 2020-12 schema, or None when it is."""
    try:
        if jsonschema_rs.meta.is_valid(schema):
            return None
    except (ValueError, TypeError, jsonschema_rs.ReferencingError):
        pass
    import jsonschema

    try:
        jsonschema.Draft202012Validator.check_schema(schema)
    except jsonschema.SchemaError as exc:
        return exc.message
    return None
