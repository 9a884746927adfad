"""What a database's schema is, read back from the database itself, for comparing two stores.

A new store is created from the models and stamped at the head; an old one reaches the head
through the migration chain. Both must end with the same tables, columns, keys and indexes:
this reads each back through SQLAlchemy's inspector, in a form two stores can be compared by,
and the rows the migrations seed.
"""

from __future__ import annotations

import warnings

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, MetaData, inspect, select

from hub.store import Store
from hub.store.db import HEAD_REVISION
from hub.store.models import metadata
from hub.store.record_fields import not_a_filter_index

# SQLAlchemy cannot read SQLite's indexes on expressions back, and says so each time it meets one.
_UNREAD_INDEX = "Skipped unsupported reflection of expression-based index"


def assert_new_store_matches_migrated(new_url: str, migrated_url: str) -> None:
    """A store created from the models equals one taken through every migration, both empty."""
    made = Store.open(new_url)  # a new store: created from the models, stamped at the head
    chained = Store.open(migrated_url, migrate=False)
    try:
        chained.migrate(chain=True)  # an old store's path: every migration in turn
        assert made.revision() == chained.revision() == HEAD_REVISION
        for store in (made, chained):
            with store.engine.connect() as conn:
                assert models_diff(conn) == []
        made_shape, chained_shape = schema_shape(made.engine), schema_shape(chained.engine)
        assert {"records", "outbox", "audit_log", "alembic_version"} <= set(made_shape)
        for table in chained_shape:
            assert made_shape.get(table) == chained_shape[table], table
        assert set(made_shape) == set(chained_shape)
        assert table_rows(made.engine) == table_rows(chained.engine)  # seeded rows too
    finally:
        made.close()
        chained.close()


def models_diff(conn) -> list:
    """What Alembic's autogenerate finds between the store and the models: [] when they agree.

    The filter indexes are left to :func:`schema_shape` (they are not in the models), and
    SQLAlchemy's warning that it cannot read SQLite's expression indexes back is expected.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", _UNREAD_INDEX)
        return compare_metadata(MigrationContext.configure(conn, opts={"include_object": not_a_filter_index}), metadata)


def schema_shape(engine: Engine) -> dict:
    """Every table's columns, primary key, unique constraints, indexes and foreign keys."""
    insp = inspect(engine)
    shape = {}
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", _UNREAD_INDEX)  # read from sqlite_master instead (_indexes)
        for table in sorted(insp.get_table_names()):
            shape[table] = _table_shape(engine, insp, table)
    return shape


def _table_shape(engine: Engine, insp, table: str) -> dict:
    return {
        "columns": [(c["name"], str(c["type"]), c["nullable"], _default(c.get("default"))) for c in insp.get_columns(table)],
        "primary_key": insp.get_pk_constraint(table)["constrained_columns"],
        "unique": sorted(tuple(u["column_names"]) for u in insp.get_unique_constraints(table)),
        "indexes": _indexes(engine, insp, table),
        "foreign_keys": sorted(
            (tuple(f["constrained_columns"]), f["referred_table"], tuple(f["referred_columns"])) for f in insp.get_foreign_keys(table)
        ),
    }


def _indexes(engine: Engine, insp, table: str) -> list:
    """Each index's name, columns or expressions, uniqueness and condition (a partial index's WHERE).

    SQLAlchemy does not read back SQLite's indexes on expressions (it warns and leaves them
    out), so on SQLite those are compared as the statement SQLite keeps for each.
    """
    found = [
        (i["name"], tuple(map(str, i["column_names"])), tuple(i.get("expressions") or ()), bool(i["unique"]), str(i["dialect_options"]))
        for i in insp.get_indexes(table)
    ]
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            names = {i[0] for i in found}
            rows = conn.exec_driver_sql(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL", (table,)
            )
            found += [(name, (), (sql,), False, "") for name, sql in rows if name not in names]
    return sorted(found)


def table_rows(engine: Engine) -> dict[str, list[tuple]]:
    """Every table's rows, in order: on a new store, what the migrations seeded."""
    meta = MetaData()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", _UNREAD_INDEX)
        meta.reflect(engine)
    with engine.connect() as conn:
        return {name: sorted(map(tuple, conn.execute(select(table)))) for name, table in sorted(meta.tables.items())}


def _default(value):
    # SQLite reads a server default back as written ('0' or 0); compare the value, not its quoting.
    return None if value is None else str(value).strip("'\"")
