"""A field of a stored record, as SQL: one spelling for the API's filters and the indexes that serve them.

A record is stored as JSON text (``records.data``). The API narrows listings by fields inside it
(a distribution's governorate, sector, program, date), and without an index a listing read
every record of the entity until it had a page: with 200,000 distributions, 0.4 to 0.8 s on
PostgreSQL and 0.19 s on SQLite when the value is rare or absent, and ten times that at two
million (``python bench/browse.py [--store URL]``). Each index below holds one entity's rows,
keyed by the field and then the row id, so a filtered page is a range of the index, in the
order pages go: 2 to 4 ms.

A database uses an index on an expression only when the query spells that very expression,
constants included (a bound parameter in its place does not match), so the indexes and
:mod:`hub.services.browse` both take the SQL from here, with the names and the entity written
in as constants: they come from the lists below, never from a request.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, String, literal_column
from sqlalchemy.dialects.postgresql import JSONB

__all__ = [
    "FILTER_INDEXES",
    "entity_is",
    "field_sql",
    "filter_index_ddl",
    "index_name",
    "not_a_filter_index",
    "pg_jsonb",
    "record_field",
    "record_list",
]

# (entity, field): the single-valued fields the API filters distributions on, what a donor
# asks of the platform ("food aid in Quneitra", "what program P12 delivered"). Each index is
# paid for on every insert into records, whatever its entity (measured, 100,000 records filled
# by bench/browse.py's writer: a distribution 22 µs more on SQLite and 60 µs on PostgreSQL; a
# donation, which no index holds, about 5 % and 15 % more). So there are three: none for
# donations, the platform's hot write path, whose listings associations page through whole
# and reports read whole; none for a date, a range that only PostgreSQL's statistics could
# weigh against reading in id order; none for associations and programs, counted in thousands.
FILTER_INDEXES: tuple[tuple[str, str], ...] = (
    ("distribution", "governorate"),
    ("distribution", "sector"),
    ("distribution", "program_id"),
)


def _plain(kind: str, name: str) -> None:
    """Refuse anything but letters, digits and ``_``: the name is written into SQL as it is."""
    if not name.replace("_", "").isalnum():
        raise ValueError(f"not a plain {kind} name: {name!r}")


def field_sql(dialect: str, name: str, *, day: bool = False, table: str = "records.") -> str:
    """The SQL reading field ``name`` of a record as text; ``day``: its first ten characters, the date."""
    _plain("field", name)
    if dialect == "postgresql":
        value = f"({pg_jsonb(table + 'data')} ->> '{name}')"
    else:
        value = f"json_extract({table}data, '$.{name}')"
    return f"substr({value}, 1, 10)" if day else value


def pg_jsonb(column: str) -> str:
    r"""``column``'s JSON text as PostgreSQL ``jsonb``, a NUL escape in it read as U+FFFD.

    A record's free text may hold a NUL, which JSON keeps as ``\u0000`` but PostgreSQL
    refuses to read from JSON text at all: every field of such a record failed to read, and
    with an index on a field its insert would have failed. Replacing the six characters
    ``\u0000`` by ``\uFFFD`` keeps any JSON text valid (a real escape stays an escape; the
    same characters after an escaped backslash stay plain characters) and changes no field a
    filter reads: codes, identifiers and dates hold no NUL.
    """
    return f"CAST(replace({column}, '\\u0000', '\\uFFFD') AS JSONB)"


def record_field(dialect: str, name: str, *, day: bool = False) -> ColumnElement:
    """:func:`field_sql` as a column expression for a query."""
    return literal_column(field_sql(dialect, name, day=day))


def record_list(dialect: str, name: str) -> ColumnElement:
    """A list field of a record (a distribution's sectors): ``jsonb`` on PostgreSQL, its JSON text on SQLite."""
    _plain("field", name)
    if dialect == "postgresql":
        return literal_column(f"({pg_jsonb('records.data')} -> '{name}')", JSONB)
    return literal_column(f"CAST(json_extract(records.data, '$.{name}') AS VARCHAR)", String)


def entity_is(entity: str) -> ColumnElement:
    """``records.entity = 'donation'``, the entity written in: a partial index is used only then."""
    _plain("entity", entity)
    return literal_column(f"records.entity = '{entity}'")


def index_name(entity: str, name: str) -> str:
    return f"ix_records_{entity}_{name}"


def filter_index_ddl(dialect: str) -> list[str]:
    """CREATE INDEX statements for the filter indexes, in ``dialect``'s own spelling."""
    return [
        f"CREATE INDEX IF NOT EXISTS {index_name(entity, name)} ON records ({field_sql(dialect, name, table='')}, id) WHERE entity = '{entity}'"
        for entity, name in FILTER_INDEXES
    ]


def not_a_filter_index(obj, name, type_, reflected, compare_to) -> bool:
    """Alembic's ``include_object``: autogenerate leaves the filter indexes out.

    They are not in the models' metadata (their expression differs by dialect, which an
    ``Index`` cannot say), so autogenerate would offer to drop them. tests/schema_shape.py
    compares them, expressions included, between a new store and a migrated one.
    """
    return not (type_ == "index" and any(name == index_name(entity, field) for entity, field in FILTER_INDEXES))
