"""``hub validate``: check a file in common-schema shape, reporting every invalid record.

CSV and XLSX columns are named like the schema's fields (dotted for nested ones:
``donor.name``); JSONL lines are records as they are. Nothing is stored.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hub.errors import RecordError, RecordProblem
from hub.exactjson import problem_writing
from hub.mapping import compile_mapping, identity_spec
from hub.readers import JsonlFile, open_table
from hub.schema import ENTITIES, load_schema
from hub.schema.fields import schema_fields
from hub.text.nearest import did_you_mean
from hub.validation import validator_for

__all__ = ["validate_file"]


def validate_file(entity: str, path: Path) -> dict[str, Any]:
    """``{"entity", "file", "records", "valid", "invalid": [{"line", "errors": [...]}]}``."""
    load_schema(entity)  # NotFoundError for an unknown entity, listing the known ones
    reader = open_table(path)
    validator = validator_for(entity)
    invalid = []
    n = 0
    mapping = None
    unknown: list[str] = []
    unknown_said: dict[str, str] = {}
    if not isinstance(reader, JsonlFile):
        spec = identity_spec(entity, reader.header)
        unknown = [h for h in reader.header if h and h not in spec]
        # Said once per column, and each row that fills it repeats it: with the column it likely meant.
        columns = [f.column for f in schema_fields(entity)] if unknown else []
        unknown_said = {h: f"column {h!r} is not a field of {entity}{did_you_mean(h, columns)}" for h in unknown}
        mapping = compile_mapping(spec, where="(columns)", keep_unmapped=False) if spec else None
    for item in reader.rows():
        n += 1
        line, data = item[1], item[2]
        problems: list[RecordProblem] = list(item[3]) if len(item) > 3 and item[3] else []
        if not problems:
            record = data
            if mapping is not None:
                try:
                    record = mapping.apply(data)
                except RecordError as exc:
                    problems = exc.problems
            elif not isinstance(reader, JsonlFile):
                record = {}
            if not problems:
                problems = validator.problems(record) if not validator.is_valid(record) else []
            if not problems:
                # Valid by the schema, but holding a number the store cannot keep exactly?
                problems = [p for p in (problem_writing(record),) if p is not None]
            for col in unknown:
                if data.get(col) not in (None, ""):
                    problems.append(RecordProblem(col, "additionalProperties", unknown_said[col]))
        if problems:
            invalid.append({"line": line, "errors": [p.as_dict() for p in problems]})
    close = getattr(reader, "close", None)
    if close:
        close()
    return {
        "entity": entity,
        "file": str(path),
        "records": n,
        "valid": n - len(invalid),
        "invalid": invalid,
        "entities": list(ENTITIES),
    }
