"""What a database's schema is, read back from the database itself, for comparing two stores.

A new store is created from the models and stamped at the head; an old one reaches the head
through the migration chain. Both must end with the same tables, columns, keys and indexes:
this reads each back through SQLAlchemy's inspector, in a form two stores can be compared by,
and the rows the migrations seed.
"""

from __future__ import annotations

from sqlalchemy import Engine, MetaData, inspect, select


def schema_shape(engine: Engine) -> dict:
    """Every table's columns, primary key, unique constraints, indexes and foreign keys."""
    insp = inspect(engine)
    shape = {}
    for table in sorted(insp.get_table_names()):
        shape[table] = {
            "columns": [(c["name"], str(c["type"]), c["nullable"], _default(c.get("default"))) for c in insp.get_columns(table)],
            "primary_key": insp.get_pk_constraint(table)["constrained_columns"],
            "unique": sorted(tuple(u["column_names"]) for u in insp.get_unique_constraints(table)),
            "indexes": sorted((i["name"], tuple(i["column_names"]), bool(i["unique"])) for i in insp.get_indexes(table)),
            "foreign_keys": sorted(
                (tuple(f["constrained_columns"]), f["referred_table"], tuple(f["referred_columns"])) for f in insp.get_foreign_keys(table)
            ),
        }
    return shape


def table_rows(engine: Engine) -> dict[str, list[tuple]]:
    """Every table's rows, in order: on a new store, what the migrations seeded."""
    meta = MetaData()
    meta.reflect(engine)
    with engine.connect() as conn:
        return {name: sorted(map(tuple, conn.execute(select(table)))) for name, table in sorted(meta.tables.items())}


def _default(value):
    # SQLite reads a server default back as written ('0' or 0); compare the value, not its quoting.
    return None if value is None else str(value).strip("'\"")
