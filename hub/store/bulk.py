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


def insert_many(conn: Connection, table: Table, rows: list[dict]) -> None:
    """INSERT ``rows`` (dicts with the same keys) into ``table`` with one executemany."""
    if not rows:
        return
    dialect = conn.dialect
    cols = list(rows[0])
    prep = dialect.identifier_preparer
    style = dialect.paramstyle
    sql = "INSERT INTO {} ({}) VALUES ({})".format(
        prep.format_table(table),
        ", ".join(prep.quote(c) for c in cols),
        ", ".join(_PLACEHOLDER[style](i, c) for i, c in enumerate(cols)),
    )
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
