"""``hub schema`` and ``hub validate``: the common schema, and files checked against it."""

from __future__ import annotations

from pathlib import Path

import click

from hub.cli.output import emit_json, say, table
from hub.schema import ENTITIES, entity_key, load_schema, sector_crosswalk
from hub.services.validate import validate_file


@click.group("schema")
def schema() -> None:
    """The common schema: one JSON Schema per entity."""


@schema.command("list")
@click.option("--json", "as_json", is_flag=True)
def schema_list(as_json) -> None:
    """List entities with their version and natural key."""
    rows = [
        {
            "entity": e,
            "version": load_schema(e)["x-version"],
            "key": list(entity_key(e)),
            "description": load_schema(e)["description"],
        }
        for e in ENTITIES
    ]
    if as_json:
        emit_json(rows)
    else:
        table(
            None,
            ["entity", "version", "key", "what it is"],
            [[r["entity"], r["version"], ", ".join(r["key"]), r["description"]] for r in rows],
        )


@schema.command("show")
@click.argument("entity")
@click.option("--fields", "as_fields", is_flag=True, help="A table of the columns a file or mapping may fill: required, what each takes.")
@click.option("--json", "as_json", is_flag=True, help="With --fields: the table as JSON (the schema is JSON either way).")
def schema_show(entity, as_fields, as_json) -> None:
    """Print ENTITY's JSON Schema (self-contained, Draft 2020-12), or with --fields its columns in words."""
    if not as_fields:
        emit_json(load_schema(entity))  # JSON already, --json or not
        return
    from dataclasses import asdict

    from hub.schema.fields import schema_fields

    fields = schema_fields(entity)
    if as_json:
        emit_json([asdict(f) for f in fields])
        return
    table(
        f"{entity}: the columns a file or a mapping may fill (what each holds once mapped)",
        ["column", "required", "takes", "what it is"],
        [[f.column, "required" if f.required else "", f.takes, f.description] for f in fields],
    )


@schema.command("sectors")
@click.option("--json", "as_json", is_flag=True)
def schema_sectors(as_json) -> None:
    """The platform's sector codes, with the names a mapping's ``type: sector`` reads as each."""
    rows = [
        {"code": code, "en": e["en"], "ar": e["ar"], "cluster": e["cluster"], "dac": e["dac"], "also": e.get("also", [])}
        for code, e in sector_crosswalk().items()
    ]
    if as_json:
        emit_json(rows)
    else:
        table(
            None,
            ["code", "English", "Arabic", "also read as", "cluster", "DAC"],
            [[r["code"], r["en"], r["ar"], ", ".join(r["also"]), r["cluster"], r["dac"]] for r in rows],
        )


@click.command()
@click.argument("entity")
@click.argument("path", type=click.Path(path_type=Path))
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="One JSON object: records, valid, invalid[{line, errors[{path, rule, message}]}].",
)
def validate(entity, path, as_json) -> None:
    """Check a CSV, JSONL or XLSX file of ENTITY records (exit 1 when any is invalid)."""
    result = validate_file(entity, path)
    result.pop("entities", None)
    if as_json:
        emit_json(result)
    else:
        say(f"{path}: {result['records']} record(s), {result['valid']} valid, {len(result['invalid'])} invalid")
        rows = [[i["line"], e["path"], e["rule"], e["message"]] for i in result["invalid"] for e in i["errors"]]
        if rows:
            table(None, ["line", "field", "rule", "message"], rows)
    if result["invalid"]:
        raise SystemExit(1)


COMMANDS = [schema, validate]
