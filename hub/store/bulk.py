"""Bulk inserts through the driver's own ``executemany``, for the per-batch hot path.

SQLAlchemy Core runs every bound value through its type's processor on every row; for a
batch of thousands of records whose timestamps are all the same moment, that is most of the
cost of the insert. Here each column's processor runs once per distinct value (consecutive
repeats are reused), and the statement uses the dialect's own parameter style, so the same
code serves SQLite and PostgreSQL.
"""

from __future__ import annotations

from sqlalchemy import Connection, Table

__all__ = ["insert_many"]

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
    """INSERT rows of driver-ready values (see :func:`db_value`) with one executemany."""
    if not rows:
        return
    sql = _insert_sql(conn, table, columns)
    if conn.dialect.paramstyle in ("named", "pyformat"):
        rows = [dict(zip(columns, r)) for r in rows]
    conn.exec_driver_sql(sql, rows)


def select_in(conn: Connection, table: Table, columns: list[str], where: dict, in_column: str, values: list) -> list[tuple]:
    """``SELECT columns FROM table WHERE where... AND in_column IN (values)`` through the driver.

    SQLAlchemy's expanding IN re-renders the statement for every batch, which costs more than
    the lookup itself; this builds it in the dialect's own parameter style.
    """
    if not values:
        return []
    dialect = conn.dialect
    prep = dialect.identifier_preparer
    style = dialect.paramstyle
    names = [*where, *(f"v{i}" for i in range(len(values)))]
    ph = [_PLACEHOLDER[style](i, n) for i, n in enumerate(names)]
    conds = [f"{prep.quote(c)} = {ph[i]}" for i, c in enumerate(where)]
    conds.append(f"{prep.quote(in_column)} IN ({', '.join(ph[len(where) :])})")
    sql = "SELECT {} FROM {} WHERE {}".format(", ".join(prep.quote(c) for c in columns), prep.format_table(table), " AND ".join(conds))
    args = [*where.values(), *values]
    params = dict(zip(names, args)) if style in ("named", "pyformat") else tuple(args)
    # The DBAPI cursor of this same connection (same transaction): plain tuples, no Row objects.
    cursor = conn.connection.dbapi_connection.cursor()
    try:
        cursor.execute(sql, params)
        return cursor.fetchall()
    finally:
        cursor.close()
