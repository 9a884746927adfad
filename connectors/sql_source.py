"""``sql``: an association's own database (any SQLAlchemy URL), as a source and a destination.

As a destination, each entity goes to a table (``tables: {donation: donations}``; by default
the entity's name), a column per schema field (nested fields joined with ``_``: ``donor_name``;
lists and ``extra`` as JSON text), upserted by the entity's natural key. Columns the table
does not have are left out; ``create_tables: true`` creates missing tables.
A table that cannot take any record (missing, without the key's columns or a unique
constraint on them) keeps the records waiting, retried until it is mended. A record the table
refuses on its own (a NOT NULL, CHECK or length it does not meet) goes to quarantine with the
database's reason, and the batch's other records are written.

As a source:
Incremental on a column: each run reads rows whose cursor column is at or after the last
value committed (``>=``, so rows sharing the last value are re-read and found unchanged,
never skipped). A row with no value in the cursor column has no place in that order: it is
read by a full read (the first, or after ``hub state rewind``) and passed over after that, and
each run that meets such rows says how many. Rows stream from the server; nothing is loaded whole.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, time
from decimal import Decimal

from sqlalchemy import Column, MetaData, String, Table, Text, create_engine, inspect, literal_column, select, text, update
from sqlalchemy.exc import ArgumentError, DataError, IntegrityError, NoSuchTableError, SQLAlchemyError

from hub import (
    CheckFailed,
    ConfigError,
    Connector,
    ConnectorError,
    Cursor,
    RecordProblem,
    SourceRow,
    Stream,
    TransientDeliveryError,
    WriteResult,
    hookimpl,
)
from hub.schema import entity_key, load_schema
from hub.secrets import redactor
from hub.text.numbers import plain_decimal


def _columns(entity: str) -> list[str]:
    cols = []
    for name, prop in load_schema(entity)["properties"].items():
        if "properties" in prop:
            cols += [f"{name}_{sub}" for sub in prop["properties"]]
        else:
            cols.append(name)
    return cols


def _flat(record: dict) -> dict:
    out = {}
    for k, v in record.items():
        if isinstance(v, dict) and k != "extra":
            for sk, sv in v.items():
                out[f"{k}_{sk}"] = json.dumps(sv, ensure_ascii=False) if isinstance(sv, (list, dict)) else sv
        elif isinstance(v, (list, dict)):
            out[k] = json.dumps(v, ensure_ascii=False)
        elif isinstance(v, bool):
            out[k] = "true" if v else "false"
        else:
            out[k] = v
    return out


def _upsert(conn, table, key: list[str], rows: list[dict]) -> None:
    """Insert or update by key: ON CONFLICT where the dialect has it, else update-then-insert."""
    if not rows:
        return
    dialect = conn.dialect.name
    if dialect in ("sqlite", "postgresql"):
        if dialect == "sqlite":
            from sqlalchemy.dialects.sqlite import insert as dialect_insert
        else:
            from sqlalchemy.dialects.postgresql import insert as dialect_insert
        for row in rows:
            stmt = dialect_insert(table).values(**row)
            others = {c: stmt.excluded[c] for c in row if c not in key}
            conn.execute(stmt.on_conflict_do_update(index_elements=key, set_=others) if others else stmt.on_conflict_do_nothing())
        return
    for row in rows:
        where = [table.c[k] == row[k] for k in key]
        if conn.execute(select(table.c[key[0]]).where(*where)).first() is None:
            conn.execute(table.insert().values(**row))
        else:
            conn.execute(update(table).where(*where).values(**{c: v for c, v in row.items() if c not in key}))


SETTINGS = {
    "type": "object",
    "additionalProperties": False,
    "required": ["url"],
    "properties": {
        "url": {"type": "string", "writeOnly": True, "description": "SQLAlchemy URL; put the password in ${ENV}"},
        "query": {
            "type": "string",
            "description": "SELECT for a single stream (or give it per stream in options.query)",
        },
        "table": {"type": "string", "description": "A table to read whole, instead of a query"},
        "cursor_column": {
            "type": "string",
            "description": "Column for incremental reads (per stream: options.cursor_column)",
        },
        "tables": {"type": "object", "additionalProperties": {"type": "string"}, "description": "Destination: entity -> table"},
        "create_tables": {"type": "boolean", "default": False, "description": "Destination: create a missing table"},
    },
}


def _plain(v):
    if isinstance(v, Decimal):
        return format(v, "f")
    if isinstance(v, (datetime, date, time)):
        return v.isoformat()
    if isinstance(v, (bytes, memoryview)):
        return None
    return v


def _typed(cursor_value):
    """The saved cursor back as the type it was read as, so the database compares like with like."""
    kind, value = cursor_value["type"], cursor_value["value"]
    try:
        if kind == "datetime":
            return datetime.fromisoformat(value)
        if kind == "date":
            return date.fromisoformat(value)
        if kind == "decimal":
            return plain_decimal(str(value))
    except (TypeError, ValueError) as exc:
        raise ConnectorError(
            f"the saved cursor's value {value!r} is not a {kind}: {exc}", hint="`hub state rewind` reads from the start"
        ) from None
    return value


def _tagged(v) -> dict:
    kind = "datetime" if isinstance(v, datetime) else "date" if isinstance(v, date) else "decimal" if isinstance(v, Decimal) else "plain"
    return {"type": kind, "value": _plain(v)}


class SqlStream(Stream):
    """One query's rows, ordered by the cursor column when there is one."""

    may_sample = True  # a query changes nothing: hub check may try its first rows

    cursor_schema = {
        "description": 'the cursor column\'s last value and its type: {"type": "datetime", "value": "2026-03-01T10:00:00+03:00"} '
        "(type datetime, date, decimal or plain)",
        "type": "object",
        "required": ["type", "value"],
        "properties": {"type": {"enum": ["datetime", "date", "decimal", "plain"]}, "value": {"type": ["string", "number"]}},
        "additionalProperties": False,
    }

    def _option(self, name):
        opts = self.config.options if self.config else {}
        return opts.get(name) or self.connector.settings.get(name)

    @property
    def cursor_field(self) -> str | None:  # the cursor, visible where the stream is declared
        return self._option("cursor_column")

    def _query(self, engine) -> str:
        """The configured query (or ``SELECT *`` of the configured table)."""
        query, table = self._option("query"), self._option("table")
        if table:
            query = f"SELECT * FROM {engine.dialect.identifier_preparer.quote(table)}"
        if not query:
            raise ConfigError(
                f"connections.{self.connector.context.connection}: give settings.query or settings.table (or options.query per stream)"
            )
        return query

    def _sql(self, engine, cursor: Cursor):
        query, col = self._query(engine), self.cursor_field
        if not col:
            return text(query), {}
        qcol = engine.dialect.identifier_preparer.quote(col)
        if cursor.value is None:
            return text(f"SELECT * FROM ({query}) src ORDER BY {qcol}"), {}
        return text(f"SELECT * FROM ({query}) src WHERE {qcol} >= :cursor ORDER BY {qcol}"), {"cursor": _typed(cursor.value)}

    def _unordered(self, engine):
        """The query as a subquery, without the cursor's order: for a look, not for a run."""
        return select(literal_column("*")).select_from(text(self._query(engine)).columns().subquery("src"))

    @contextmanager
    def _said(self) -> Iterator[None]:
        """A database's refusal, said as this connection's query failing (secrets masked)."""
        try:
            yield
        except SQLAlchemyError as exc:
            raise ConnectorError(
                redactor.redact(
                    f"connections.{self.connector.context.connection}: query failed: {exc.__class__.__name__}: {getattr(exc, 'orig', exc)}"
                )
            ) from None

    def _rows(self, sql, params: dict | None = None) -> Iterator:
        """The rows of ``sql`` as mappings, streamed a thousand at a time."""
        with self._said(), self.connector.engine().connect() as conn:
            yield from conn.execution_options(stream_results=True, yield_per=1000).execute(sql, params or {}).mappings()

    def columns(self) -> list[str]:
        # No row is fetched, and no ORDER BY sorts a large table only to say what its columns are.
        with self._said(), self.connector.engine().connect() as conn:
            found = list(conn.execute(self._unordered(conn.engine).where(text("1 = 0"))).keys())
        if self.cursor_field and self.cursor_field not in found:
            raise ConfigError(
                f"connections.{self.connector.context.connection}: cursor_column {self.cursor_field!r} is not a column of the query",
                hint=f"its columns: {', '.join(found)}",
            )
        return found

    def sample(self, rows: int) -> Iterator[SourceRow]:
        # Any rows show what the mapping makes of them: the database need not sort the table first.
        for n, row in enumerate(self._rows(self._unordered(self.connector.engine()).limit(rows)), start=1):
            yield SourceRow({k: _plain(v) for k, v in row.items()}, n)

    @property
    def reads_whole(self) -> bool:  # without a cursor column every run reads the whole query
        return not self.cursor_field

    def read(self, cursor: Cursor) -> Iterator[SourceRow]:
        sql, params = self._sql(self.connector.engine(), cursor)
        col = self.cursor_field
        unplaced = 0
        for n, row in enumerate(self._rows(sql, params), start=1):
            data = {k: _plain(v) for k, v in row.items()}
            if col:
                # A row without a value there has no place in the order. Saving None as
                # the cursor made the next run's "col >= NULL" match nothing, ever again.
                if row[col] is None:
                    unplaced += 1
                else:
                    cursor.advance(_tagged(row[col]))
            yield SourceRow(data, n)
        if unplaced:
            self.connector.context.log.warning(
                "%s/%s: %d row(s) have no %s; incremental reads pass over them (`hub state rewind` reads everything again)",
                self.connector.context.connection,
                self.name,
                unplaced,
                col,
            )


class SqlSource(Connector):
    """Reads rows from, and writes records to, any database SQLAlchemy can reach."""

    name = "sql"
    title = "SQL database"
    settings_schema = SETTINGS
    stream_class = SqlStream

    def __init__(self, settings, context):
        super().__init__(settings, context)
        self._engine = None
        self._upsertable_tables: set[str] = set()  # tables found fit, not looked at again by this connection

    def engine(self):
        if self._engine is None:
            url = self.settings["url"]
            if url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
                url = f"sqlite:///{self.context.path(url[len('sqlite:///') :]).as_posix()}"
            try:
                self._engine = create_engine(url, hide_parameters=True)  # errors name no row's data
            except (ArgumentError, ImportError) as exc:
                raise ConfigError(redactor.redact(f"connections.{self.context.connection}.settings.url: {exc}")) from None
        return self._engine

    def check(self) -> str:
        try:
            with self.engine().connect() as conn:
                conn.execute(text("SELECT 1"))
        except SQLAlchemyError as exc:
            raise CheckFailed(redactor.redact(f"cannot connect: {getattr(exc, 'orig', exc)}")) from None
        return f"connected to {self.engine().url.render_as_string(hide_password=True)}"

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()

    def _table(self, entity: str):
        name = (self.settings.get("tables") or {}).get(entity, entity)
        engine = self.engine()
        md = MetaData()
        try:
            return Table(name, md, autoload_with=engine)
        except NoSuchTableError:
            if not self.settings.get("create_tables"):
                # Waiting, not refused: once the table is there, the records flow.
                raise TransientDeliveryError(
                    f"connections.{self.context.connection}: table {name!r} does not exist in the destination database;"
                    " create it, or set create_tables: true"
                ) from None
        key = entity_key(entity)
        cols = [Column(c, String(400) if c in key else Text, primary_key=c in key, nullable=c not in key) for c in _columns(entity)]
        table = Table(name, md, *cols)
        md.create_all(engine)
        return table

    def _upsertable(self, table: Table, key: list[str], entity: str) -> None:
        """The table can be upserted by ``key``: it has the columns and a unique constraint on exactly them."""
        missing = [k for k in key if k not in table.c]
        if missing:
            raise TransientDeliveryError(
                f"connections.{self.context.connection}: table {table.name!r} has no column {missing[0]!r}"
                f" for the key of {entity} ({', '.join(key)})"
            )
        if self.engine().dialect.name not in ("sqlite", "postgresql") or table.name in self._upsertable_tables:
            return  # upserted by update-then-insert: no constraint needed (or already found fit)
        wanted = set(key)
        unique = [{c.name for c in table.primary_key.columns}]
        found = inspect(self.engine())
        unique += [set(u["column_names"]) for u in found.get_unique_constraints(table.name)]
        unique += [set(i["column_names"]) for i in found.get_indexes(table.name) if i.get("unique")]
        if wanted not in unique:
            raise TransientDeliveryError(
                f"connections.{self.context.connection}: table {table.name!r} has no primary key or unique constraint on"
                f" ({', '.join(key)}), the key of {entity} that records are upserted by; add one"
            )
        self._upsertable_tables.add(table.name)

    def write(self, entity: str, deliveries):
        table = self._table(entity)
        key = [c for c in entity_key(entity)]
        self._upsertable(table, key, entity)
        rows = []
        for d in deliveries:
            flat = _flat(d.record)
            rows.append({c: flat.get(c) for c in table.c.keys() if c in flat or c in key})
        try:
            self._apply(table, key, rows)
            return WriteResult()
        except (IntegrityError, DataError):
            pass  # a record the table refuses: find which, write the others
        result = WriteResult()
        for d, row in zip(deliveries, rows):
            try:
                self._apply(table, key, [row])
            except (IntegrityError, DataError) as exc:
                reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
                result.rejected[d.idempotency_key] = [
                    RecordProblem("(record)", "destination", redactor.redact(f"table {table.name!r} refuses it: {reason}"))
                ]
        return result

    def _apply(self, table: Table, key: list[str], rows: list[dict]) -> None:
        """Upsert ``rows`` in one transaction; a refused record raises, anything else is a reason to wait."""
        try:
            with self.engine().begin() as conn:
                _upsert(conn, table, key, rows)
        except (IntegrityError, DataError):
            raise
        except SQLAlchemyError as exc:
            raise TransientDeliveryError(redactor.redact(f"{table.name}: {getattr(exc, 'orig', exc)}")) from None


@hookimpl
def hub_register_connectors(registry):
    registry.add(SqlSource)
