"""Declarative mapping from a source's columns to common-schema fields.

A stream's ``mapping`` in the config maps each target field (dotted for nested objects:
``donor.name``) to a spec. A plain string is a column name; a dict may say::

    column: المبلغ            # or columns: [first, last] with join: " "
    const: SYP                # a constant instead of a column
    type: decimal             # string | decimal | integer | date | datetime | boolean |
                              # governorate | sector | currency | account | list
                              # (hub.cells reads a cell under each)
    format: "%d/%m/%Y"        # date/datetime formats (a list is tried in order; ISO 8601 always)
    tz: Asia/Damascus         # zone for datetimes written without one (config default otherwise)
    decimal_separator: ","    # for amounts written 1.234,50
    map: {نقدي: cash}         # value map, matched on the Arabic-aware key; default: for others
    default: direct           # when the cell is empty
    split: ";"                # for lists; items: governorate types each element
    first_of: [دائن, مدين]    # the first non-empty of several columns (bank debit/credit columns)
    which: {دائن: credit, مدين: debit}   # a value chosen by which column is non-empty

Arabic-Indic digits, ``٫`` and ``٬``, and bidi marks are handled for every numeric and date
type; numbers in scientific notation are refused (``hub.text.numbers`` says why). Compiling
checks the spec once (errors name the config key); applying collects every problem of a row
into one :class:`~hub.errors.RecordError`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from hub.cells import EDGE_MARKS, TYPES, BadCell, as_text, cached, cell_text, converter, unknown_type
from hub.errors import ConfigError, RecordError, RecordProblem
from hub.readers.uncalculated import UncalculatedRow, formula_message
from hub.schema import load_schema
from hub.text.arabic import matching_key

__all__ = ["Mapping", "compile_mapping", "identity_mapping", "identity_spec"]

_SPLIT_DEFAULT = re.compile(r"\s*[;,،؛|]\s*")  # Arabic comma and semicolon too


def _field(target: str, spec: Any, default_zone: ZoneInfo, where: str) -> tuple[list[str], Callable]:
    """Compile one target field's spec into (columns it reads, row -> value or None)."""
    if isinstance(spec, str):
        spec = {"column": spec}
    if not isinstance(spec, dict):
        raise ConfigError(f"{where}: a field is a column name or a mapping with column/const")
    unknown = set(spec) - {
        "column",
        "columns",
        "join",
        "const",
        "type",
        "format",
        "tz",
        "decimal_separator",
        "map",
        "default",
        "split",
        "items",
        "first_of",
        "which",
    }
    if unknown:
        raise ConfigError(f"{where}: unknown option(s) {', '.join(sorted(unknown))}")
    if "which" in spec:
        choices = spec["which"]
        if not isinstance(choices, dict) or not choices:
            raise ConfigError(f"{where}.which maps column names to the value each stands for")

        def which(row):
            for col, val in choices.items():
                if cell_text(row.get(col)) is not None:
                    return val
            return spec.get("default")

        return list(choices), which
    if "const" in spec:
        value = spec["const"]

        def constant(row):
            return value

        constant.const = value  # lets Mapping set it without a call per row
        return [], constant
    zone = default_zone
    if "tz" in spec:
        try:
            zone = ZoneInfo(spec["tz"])
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(f"{where}.tz: unknown time zone {spec['tz']!r}") from None
    kind = spec.get("type", "string")
    if kind not in TYPES:
        raise unknown_type(kind, where)
    value_map = None
    if "map" in spec:
        if not isinstance(spec["map"], dict):
            raise ConfigError(f"{where}.map must be a mapping of source value -> value")
        value_map = {matching_key(str(k)): v for k, v in spec["map"].items()}
    default = spec.get("default")
    if value_map is not None:
        known = ", ".join(map(str, spec["map"]))

        def lookup(s):
            key = matching_key(s)
            if key in value_map:
                return value_map[key]
            if default is not None:
                return default
            raise BadCell("map", f"{s!r} is not one of the mapped values ({known})")

        conv = cached(lookup)
    elif kind == "list":
        item_conv = converter(spec.get("items", "string"), spec, zone, where)
        sep = spec.get("split")
        splitter = (lambda s: [p.strip() for p in s.split(sep)]) if sep else _SPLIT_DEFAULT.split

        def conv(s):
            return [item_conv(p) for p in splitter(s) if p]
    else:
        conv = converter(kind, spec, zone, where)
        if kind in ("date", "datetime", "governorate", "currency", "boolean"):
            conv = cached(conv)
    plain = value_map is None and kind == "string"

    if "first_of" in spec:
        cols = list(spec["first_of"])

        def value(row):
            for c in cols:
                t = cell_text(row.get(c))
                if t is not None:
                    return t if plain else conv(t)
            return default
    elif "columns" in spec:
        cols = list(spec["columns"])
        joiner = spec.get("join", " ")

        def value(row):
            parts = [t for t in (cell_text(row.get(c)) for c in cols) if t]
            s = joiner.join(parts)
            return conv(s) if s else default
    elif "column" in spec:
        col = spec["column"]
        cols = [col]

        def value(row):
            v = row.get(col)
            if v is None or v == "":
                return default
            if v.__class__ is not str:
                v = as_text(v)
            v = v.strip(EDGE_MARKS)
            if not v:
                return default
            return v if plain else conv(v)

        # What Mapping needs to read this column inline, calling only the converter.
        value.column = col
        value.convert = None if plain else conv
        value.default = default
    else:
        raise ConfigError(f"{where}: give a column, columns or const")

    return cols, value


def _set(out: dict, path: tuple[str, ...], value: Any) -> None:
    node = out
    for part in path[:-1]:
        node = node.setdefault(part, {})
    node[path[-1]] = value


class Mapping:
    """A compiled mapping: ``apply(raw_row) -> record`` or RecordError with every problem.

    ``apply`` is generated Python source, one straight run of statements per field with the
    column names and converters bound as closure cells: no loop over field descriptions and no
    tuple unpacking per row. It is the hot path of every file sync (bench/pipeline.py) and
    takes about a quarter less time than the same logic written as a loop over the fields,
    which ``apply_reference`` still is (a test holds the two to the same answers).
    """

    def __init__(
        self,
        fields: list[tuple[tuple[str, ...], Callable]],
        columns: set[str],
        keep_unmapped: bool,
        reads: dict[str, list[str]] | None = None,
    ):
        # Three kinds of field: constants set at once, single columns read inline (only their
        # converter is called), and the rest (joined columns, first_of, which) through their
        # compiled function.
        self._consts = {path[0]: fn.const for path, fn in fields if len(path) == 1 and hasattr(fn, "const")}
        self._column_fields = [
            (".".join(path), path if len(path) > 1 else None, fn.column, fn.convert, fn.default)
            for path, fn in fields
            if hasattr(fn, "column")
        ]
        self._other = [(path, fn) for path, fn in fields if not hasattr(fn, "column") and not (len(path) == 1 and hasattr(fn, "const"))]
        self.columns = columns
        self.reads = reads or {}  # field (dotted) -> the columns it is read from, for a person correcting a row
        self.keep_unmapped = keep_unmapped
        self._unmapped_for: tuple[int, list[str]] | None = None
        self.apply: Callable[[dict], dict] = self._generate()

    def _unmapped(self, row: dict) -> list[str]:
        # Rows of one file share their keys: work the unmapped columns out once per shape.
        cached = self._unmapped_for
        if cached is not None and cached[0] == len(row):
            return cached[1]
        cols = [k for k in row if k and k not in self.columns]
        self._unmapped_for = (len(row), cols)
        return cols

    def _extra(self, out: dict, row: dict, unmapped: list[str]) -> None:
        """Unmapped non-empty columns into ``extra``, as the source wrote them."""
        extra = None
        for k in unmapped:
            t = cell_text(row.get(k))
            if t is not None:
                if extra is None:
                    extra = out.setdefault("extra", {})
                extra[k] = t

    @staticmethod
    def _problem(problems, path, bad) -> list:
        problems = problems or []
        problems.append(RecordProblem(path, bad.rule, bad.message))
        return problems

    def _generate(self) -> Callable[[dict], dict]:
        """Write ``apply`` for exactly these fields and compile it once."""
        cells: dict[str, Any] = {
            "CONSTS": self._consts,
            "MARKS": EDGE_MARKS,
            "as_text": as_text,
            "Bad": BadCell,
            "problem": self._problem,
            "RecordError": RecordError,
            "set_path": _set,
            "extra": self._extra,
            "unmapped_of": self._unmapped,
        }
        body = ["out = dict(CONSTS)", "problems = None"]

        def store(i: int, name: str, nested: tuple[str, ...] | None, indent: str) -> None:
            if nested is None:
                body.append(f"{indent}out[name{i}] = v")
            elif len(nested) == 2:  # donor.name: the common case, written out
                cells[f"outer{i}"], cells[f"inner{i}"] = nested
                body.extend(
                    [
                        f"{indent}node = out.get(outer{i})",
                        f"{indent}if node is None:",
                        f"{indent}    node = out[outer{i}] = {{}}",
                        f"{indent}node[inner{i}] = v",
                    ]
                )
            else:
                body.append(f"{indent}set_path(out, path{i}, v)")

        for i, (name, nested, col, convert, default) in enumerate(self._column_fields):
            cells.update({f"name{i}": name, f"path{i}": nested, f"col{i}": col, f"conv{i}": convert, f"default{i}": default})
            body += [
                f"v = row.get(col{i})",
                "if v is not None and v != '':",
                "    if v.__class__ is not str:",
                "        v = as_text(v)",
                "    v = v.strip(MARKS)",
                "if not v:",
                f"    v = default{i}",
            ]
            if convert is not None:
                body += [
                    "else:",
                    "    try:",
                    f"        v = conv{i}(v)",
                    "    except Bad as bad:",
                    f"        problems = problem(problems, name{i}, bad)",
                    "        v = None",
                ]
            body.append("if v is not None:")
            store(i, name, nested, "    ")
        for j, (path, fn) in enumerate(self._other):
            i = len(self._column_fields) + j
            cells.update({f"name{i}": ".".join(path), f"path{i}": path, f"fn{i}": fn})
            body += [
                "try:",
                f"    v = fn{i}(row)",
                "except Bad as bad:",
                f"    problems = problem(problems, name{i}, bad)",
                "    v = None",
                "if v is not None:",
                f"    set_path(out, path{i}, v)",
            ]
        body += ["if problems:", "    raise RecordError(problems, partial=out)"]
        if self.keep_unmapped:
            body += ["unmapped = unmapped_of(row)", "if unmapped:", "    extra(out, row, unmapped)"]
        body.append("return out")
        names = sorted(cells)
        source = (
            f"def make({', '.join(names)}):\n    def apply(row):\n" + "".join(f"        {line}\n" for line in body) + "    return apply\n"
        )
        namespace: dict[str, Any] = {}
        exec(compile(source, "<mapping>", "exec"), namespace)  # noqa: S102 - our own source, values bound as cells
        fn = namespace["make"](**cells)
        fn.__doc__ = "Map one raw row; unmapped non-empty columns go to ``extra`` when asked to."
        return fn

    def apply_uncalculated(self, row: UncalculatedRow) -> dict:
        """``apply`` for a row with formulas the workbook carries no value for.

        A field read from one is refused with what to do; the others map as if those cells were empty.
        """
        problems = [
            RecordProblem(name, "formula", formula_message(row.formulas[col]))
            for name, _n, col, _c, _d in self._column_fields
            if col in row.formulas
        ]
        plain = {k: (None if k in row.formulas else v) for k, v in row.items()}
        if problems:
            try:
                partial = self.apply(plain)
            except RecordError as exc:
                problems += [q for q in exc.problems if q.path not in {p.path for p in problems}]
                partial = exc.partial
            raise RecordError(problems, partial=partial)
        return self.apply(plain)

    def apply_reference(self, row: dict) -> dict:
        """What ``apply`` does, written as a plain loop over the fields (the readable reference)."""
        out: dict = dict(self._consts)
        problems = None
        for name, nested, col, convert, default in self._column_fields:
            v = row.get(col)
            if v is not None and v != "":
                if v.__class__ is not str:
                    v = as_text(v)
                v = v.strip(EDGE_MARKS)
            if not v:
                v = default
            elif convert is not None:
                try:
                    v = convert(v)
                except BadCell as bad:
                    problems = self._problem(problems, name, bad)
                    continue
            if v is None:
                continue
            if nested is None:
                out[name] = v
            else:
                _set(out, nested, v)
        for path, fn in self._other:
            try:
                v = fn(row)
            except BadCell as bad:
                problems = self._problem(problems, ".".join(path), bad)
                continue
            if v is not None:
                _set(out, path, v)
        if problems:
            raise RecordError(problems, partial=out)
        if self.keep_unmapped:
            self._extra(out, row, self._unmapped(row))
        return out


def compile_mapping(spec: dict, *, timezone: str = "Asia/Damascus", where: str = "mapping", keep_unmapped: bool = True) -> Mapping:
    """Compile a mapping spec once; ConfigError names the config key of any mistake."""
    if not isinstance(spec, dict) or not spec:
        raise ConfigError(f"{where} must map target fields to columns")
    zone = ZoneInfo(timezone)
    fields, columns, reads = [], set(), {}
    for target, fspec in spec.items():
        cols, fn = _field(target, fspec, zone, f"{where}.{target}")
        columns.update(cols)
        reads[str(target)] = list(cols)
        fields.append((tuple(str(target).split(".")), fn))
    return Mapping(fields, columns, keep_unmapped, reads)


def _schema_type(node: dict, defs: dict) -> str:
    if "$ref" in node:
        node = {**defs[node["$ref"].split("/")[-1]], **{k: v for k, v in node.items() if k != "$ref"}}
    t = node.get("type")
    if t == "integer":
        return "integer"
    if t == "boolean":
        return "boolean"
    if t == "array":
        return "list"
    return "string"


def identity_spec(entity: str, columns: list[str]) -> dict:
    """A mapping for files already in common-schema shape (columns named like fields, dotted).

    Types follow the schema: integers, booleans and lists (split on ``;`` or ``,``) are
    converted; everything else stays text for the validator to judge.
    """
    schema = load_schema(entity)
    defs = schema["$defs"]
    spec = {}
    for col in columns:
        node, parts = schema, col.split(".")
        for part in parts:
            props = node.get("properties", {})
            if part not in props:
                node = None
                break
            node = props[part]
            if "$ref" in node and "properties" not in node:
                ref = defs[node["$ref"].split("/")[-1]]
                node = {**ref, **node} if "properties" in ref else node
        if node is None or "properties" in node:
            continue
        kind = _schema_type(node, defs)
        spec[col] = {"column": col, "type": kind} if kind != "string" else col
    return spec


def identity_mapping(entity: str, columns: list[str], source: str) -> Mapping:
    """The mapping for a source without one, whose columns must be named like the schema's fields."""
    spec = identity_spec(entity, columns)
    if not spec:
        from hub.errors import InputError

        raise InputError(
            f"{source}: no column is named like a field of {entity}, and the stream has no mapping",
            hint="add a mapping from the source's columns to the schema's fields in the config (hub schema show "
            + entity
            + " --fields lists them)",
        )
    return compile_mapping(spec, where="(identity mapping)")
