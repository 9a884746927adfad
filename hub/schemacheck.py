"""Checking the config, connector settings and settings schemas against JSON Schema.

Every command checks the config and each connector's settings before it does anything, so
this runs at every start. jsonschema-rs answers whether an instance is valid in microseconds;
jsonschema (pure Python, about 50 ms to import with its dependencies) is loaded only to word
the errors of something that fails, where its messages and paths are the better ones. Both
follow Draft 2020-12 without checking formats. Where the two could disagree (an instance
holding a type jsonschema-rs does not take, such as a date YAML parsed), jsonschema decides.
"""

from __future__ import annotations

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
        msg = e.message
        if e.validator == "additionalProperties":
            msg = msg.replace("Additional properties are not allowed", "unknown key(s)")
        if isinstance(e.schema, dict) and e.schema.get("writeOnly"):
            msg = msg.replace(repr(e.instance), "the value (a secret, not shown)")
        else:
            msg += did_you_mean(e.instance, getattr(e, "allowed", None) or (e.validator_value if e.validator == "enum" else ()))
        out.append(f"{where}: {msg}")
    return out


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
