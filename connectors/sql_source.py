"""``sql``: rows of a query or table in an association's own database (any SQLAlchemy URL).

Incremental on a column: each run reads rows whose cursor column is at or after the last
value committed (``>=``, so rows sharing the last value are re-read and found unchanged,
never skipped). Rows stream from the server; nothing is loaded whole.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time
from decimal import Decimal

from sqlalchemy import create_engine, text
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from hub import CheckFailed, ConfigError, Connector, ConnectorError, Cursor, SourceRow, Stream, hookimpl
from hub.secrets import redactor

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
    if kind == "datetime":
        return datetime.fromisoformat(value)
    if kind == "date":
        return date.fromisoformat(value)
    if kind == "decimal":
        return Decimal(value)
    return value


def _tagged(v) -> dict:
    kind = "datetime" if isinstance(v, datetime) else "date" if isinstance(v, date) else "decimal" if isinstance(v, Decimal) else "plain"
    return {"type": kind, "value": _plain(v)}


class SqlStream(Stream):
    """One query's rows, ordered by the cursor column when there is one."""

    def _option(self, name):
        opts = self.config.options if self.config else {}
        return opts.get(name) or self.connector.settings.get(name)

    @property
    def cursor_field(self) -> str | None:  # the cursor, visible where the stream is declared
        return self._option("cursor_column")

    def _sql(self, engine, cursor: Cursor):
        query, table = self._option("query"), self._option("table")
        prep = engine.dialect.identifier_preparer
        if table:
            query = f"SELECT * FROM {prep.quote(table)}"
        if not query:
            raise ConfigError(
                f"connections.{self.connector.context.connection}: give settings.query or settings.table (or options.query per stream)"
            )
        col = self.cursor_field
        if not col:
            return text(query), {}
        qcol = prep.quote(col)
        if cursor.value is None:
            return text(f"SELECT * FROM ({query}) src ORDER BY {qcol}"), {}
        return text(f"SELECT * FROM ({query}) src WHERE {qcol} >= :cursor ORDER BY {qcol}"), {"cursor": _typed(cursor.value)}

    def columns(self) -> list[str]:
        engine = self.connector.engine()
        sql, params = self._sql(engine, Cursor(None))
        try:
            with engine.connect() as conn:
                return list(conn.execute(sql, params).keys())
        except SQLAlchemyError as exc:
            raise ConnectorError(
                redactor.redact(
                    f"connections.{self.connector.context.connection}: query failed: {exc.__class__.__name__}: {getattr(exc, 'orig', exc)}"
                )
            ) from None

    def read(self, cursor: Cursor) -> Iterator[SourceRow]:
        engine = self.connector.engine()
        sql, params = self._sql(engine, cursor)
        col = self.cursor_field
        try:
            with engine.connect() as conn:
                result = conn.execution_options(stream_results=True, yield_per=1000).execute(sql, params)
                for n, row in enumerate(result.mappings(), start=1):
                    data = {k: _plain(v) for k, v in row.items()}
                    if col:
                        cursor.advance(_tagged(row[col]))
                    yield SourceRow(data, n)
        except SQLAlchemyError as exc:
            raise ConnectorError(
                redactor.redact(
                    f"connections.{self.connector.context.connection}: query failed: {exc.__class__.__name__}: {getattr(exc, 'orig', exc)}"
                )
            ) from None


class SqlSource(Connector):
    """Reads rows from any database SQLAlchemy can reach."""

    name = "sql"
    title = "SQL database"
    settings_schema = SETTINGS
    stream_class = SqlStream

    def __init__(self, settings, context):
        super().__init__(settings, context)
        self._engine = None

    def engine(self):
        if self._engine is None:
            url = self.settings["url"]
            if url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
                url = f"sqlite:///{self.context.path(url[len('sqlite:///') :]).as_posix()}"
            try:
                self._engine = create_engine(url)
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


@hookimpl
def hub_register_connectors(registry):
    registry.add(SqlSource)
