"""Bulk inserts through the driver's own ``executemany`` (COPY for new records on PostgreSQL), for the per-batch hot path.

SQLAlchemy Core runs every bound value through its type's processor on every row; for a
batch of thousands of records whose timestamps are all the same moment, that is most of the
cost of the insert. Here each column's processor runs once per distinct value (consecutive
repeats are reused), and the statement uses the dialect's own parameter style, so the same
code serves SQLite and PostgreSQL. A batch's lookups and updates by a list of keys or ids
bind the whole list as one parameter (:func:`in_clauses`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from types import SimpleNamespace

import orjson
from sqlalchemy import ARRAY, Connection, Table, any_, bindparam, func, literal_column, select
from sqlalchemy.sql.elements import ColumnElement

__all__ = ["db_value", "in_clauses", "insert_many", "insert_tuples", "select_in"]

_PLACEHOLDER = {
    "qmark": lambda i, c: "?",
    "format": lambda i, c: "%s",
    "numeric": lambda i, c: f":{i + 1}",
    "named": lambda i, c: f":{c}",
    "pyformat": lambda i, c: f"%({c})s",
}


def _insert_sql(conn: Connection, table: Table, cols: list[str]) -> str:
    prep = conn.dialect.identifier_preparer
    style = conn.dialect.paramstyle
    return "INSERT INTO {} ({}) VALUES ({})".format(
        prep.format_table(table),
        ", ".join(prep.quote(c) for c in cols),
        ", ".join(_PLACEHOLDER[style](i, c) for i, c in enumerate(cols)),
    )


def insert_many(conn: Connection, table: Table, rows: list[dict]) -> None:
    """INSERT ``rows`` (dicts with the same keys) into ``table`` with one executemany."""
    if not rows:
        return
    dialect = conn.dialect
    cols = list(rows[0])
    style = dialect.paramstyle
    sql = _insert_sql(conn, table, cols)
    procs = [(i, c, table.c[c].type._cached_bind_processor(dialect)) for i, c in enumerate(cols)]
    procs = [p for p in procs if p[2] is not None]
    by_name = style in ("named", "pyformat")
    params: list = []
    memo: dict[int, tuple[object, object]] = {}
    for row in rows:
        values = [row[c] for c in cols]
        for i, _c, proc in procs:
            v = values[i]
            last = memo.get(i)
            if last is not None and last[0] is v:
                values[i] = last[1]
            else:
                out = proc(v)
                memo[i] = (v, out)
                values[i] = out
        params.append(dict(zip(cols, values)) if by_name else tuple(values))
    conn.exec_driver_sql(sql, params)


def db_value(conn: Connection, table: Table, column: str, value: object) -> object:
    """``value`` as the driver takes it for ``table.column`` (the column type's bind processing, once)."""
    proc = table.c[column].type._cached_bind_processor(conn.dialect)
    return proc(value) if proc is not None else value


def insert_tuples(conn: Connection, table: Table, columns: list[str], rows: list[tuple]) -> None:
    """INSERT rows of driver-ready values (see :func:`db_value`): COPY on PostgreSQL, else one executemany."""
    if not rows:
        return
    if conn.dialect.driver == "psycopg" and _copied(conn, table, columns, rows):
        return
    sql = _insert_sql(conn, table, columns)
    if conn.dialect.paramstyle in ("named", "pyformat"):
        rows = [dict(zip(columns, r)) for r in rows]
    conn.exec_driver_sql(sql, rows)


def _copied(conn: Connection, table: Table, columns: list[str], rows: list[tuple]) -> bool:
    """PostgreSQL: the rows through ``COPY ... FROM STDIN``; False if the server refused them.

    An executemany runs the INSERT once a row, and PostgreSQL sets up every index of the table
    (the partial ones' conditions too) for each run; COPY does it once for the batch
    (bench/ingest.py --store: end to end 10.8–13.1 s against 13.4–14.5 s). Two things COPY does not do by
    itself are done here. Listeners of SQLAlchemy's statement events (tracing, the tests'
    Ctrl-C) see it as they see any statement. And a refused COPY, whose error quotes the
    offending row, is rolled back to a savepoint and left to the INSERT, which fails as
    before: the error a store's caller reads names the statement and the reason, never the
    records, and is SQLAlchemy's own (IntegrityError, DataError...).
    """
    prep = conn.dialect.identifier_preparer
    statement = f"COPY {prep.format_table(table)} ({', '.join(prep.quote(c) for c in columns)}) FROM STDIN"
    refused = conn.dialect.loaded_dbapi.Error
    # The events' listeners may note things on the execution context (tracing keeps its span
    # there); COPY has no SQLAlchemy context, so it gets a plain one of its own.
    context = SimpleNamespace(executemany=True, isinsert=True, compiled=None)
    savepoint = conn.begin_nested()
    try:
        with conn.connection.dbapi_connection.cursor() as cursor:
            conn.dispatch.before_cursor_execute(conn, cursor, statement, rows, context, True)
            with cursor.copy(statement) as copy:
                for row in rows:
                    copy.write_row(row)
            conn.dispatch.after_cursor_execute(conn, cursor, statement, rows, context, True)
    except refused:
        savepoint.rollback()
        return False
    except BaseException:
        savepoint.rollback()
        raise
    savepoint.commit()
    return True


_CHUNK = 1000  # values per IN list where a whole list cannot be one parameter


def _bound_lists(dialect_name: str, values: list) -> list:
    """How a list of values is bound, one entry per statement to run.

    One JSON array text on SQLite, one array on PostgreSQL, plain lists of up to 1000 values
    elsewhere (under every driver's parameter limit). SQLAlchemy's expanding IN renders one bound parameter per value, and the statement anew for
    every batch: for 500 keys that costs more than the lookup itself. As one parameter, the
    statement is the same for every batch, and both databases still search the index by value.
    """
    if dialect_name == "sqlite":
        return [orjson.dumps(values).decode()]  # IN (SELECT value FROM json_each(?))
    if dialect_name == "postgresql":
        return [values]  # = ANY(%s)
    return [values[i : i + _CHUNK] for i in range(0, len(values), _CHUNK)]


def in_clauses(conn: Connection, column: ColumnElement, values: Sequence) -> Iterator[tuple[ColumnElement, dict]]:
    """``column IN values`` as WHERE clauses with their parameters, one statement each (see :func:`_bound_lists`)."""
    name = conn.dialect.name
    for bound in _bound_lists(name, list(values)) if values else []:
        if name == "sqlite":
            clause = column.in_(select(literal_column("value")).select_from(func.json_each(bindparam("in_values"))))
        elif name == "postgresql":
            clause = column == any_(bindparam("in_values", type_=ARRAY(column.type)))
        else:
            clause = column.in_(bindparam("in_values", expanding=True))
        yield clause, {"in_values": bound}


def select_in(conn: Connection, table: Table, columns: list[str], where: dict, in_column: str, values: list[str]) -> list[tuple]:
    """``SELECT columns FROM table WHERE where... AND in_column IN (values)`` through the driver.

    The per-batch key lookup: the list bound as :func:`_bound_lists` says, the statement in the
    dialect's own parameter style and run on the DBAPI cursor, so rows come back as plain
    tuples without SQLAlchemy's per-row work (bench/pipeline.py's re-run reads every key back).
    """
    if not values:
        return []
    dialect = conn.dialect
    prep = dialect.identifier_preparer
    style = dialect.paramstyle
    head = "SELECT {} FROM {} WHERE ".format(", ".join(prep.quote(c) for c in columns), prep.format_table(table))
    target = prep.quote(in_column)
    # The DBAPI cursor of this same connection (same transaction): plain tuples, no Row objects.
    cursor = conn.connection.dbapi_connection.cursor()
    out: list[tuple] = []
    try:
        for bound in _bound_lists(dialect.name, list(values)):
            args = [bound] if dialect.name in ("sqlite", "postgresql") else bound  # one parameter, or one per value
            names = [*where, *(f"v{i}" for i in range(len(args)))]
            ph = [_PLACEHOLDER[style](i, n) for i, n in enumerate(names)]
            conds = [f"{prep.quote(c)} = {ph[i]}" for i, c in enumerate(where)]
            listed = ph[len(where) :]
            if dialect.name == "sqlite":
                conds.append(f"{target} IN (SELECT value FROM json_each({listed[0]}))")
            elif dialect.name == "postgresql":
                conds.append(f"{target} = ANY({listed[0]})")
            else:
                conds.append(f"{target} IN ({', '.join(listed)})")
            params = [*where.values(), *args]
            cursor.execute(head + " AND ".join(conds), dict(zip(names, params)) if style in ("named", "pyformat") else tuple(params))
            out += cursor.fetchall()
    finally:
        cursor.close()
    return out
