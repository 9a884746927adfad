"""Opening the store: engine settings per dialect, and migrations to the newest revision.

SQLite is the embedded default (WAL, so readers never block the writer; ``synchronous=NORMAL``:
a process killed mid-write loses nothing committed). Any SQLAlchemy URL works; PostgreSQL is
the production store. ``Store.open`` brings the schema to Alembic's head before first use.

A new, empty database is not taken through the migration chain: the models' tables are
created in one go and the database is stamped at the head revision, as Alembic's own
cookbook advises ("building an up to date database from scratch"). It is the same schema
(tests compare the two paths table by table on SQLite and PostgreSQL) in a tenth of the time
and without importing Alembic: a first ``hub run`` or a test's new store starts 0.1 s sooner.
"""

from __future__ import annotations

import gc
import hashlib
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Column, MetaData, String, Table, create_engine, event, inspect, text
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, OperationalError, SQLAlchemyError

from hub.errors import StoreError
from hub.store.checkpoint import WalCheckpointer
from hub.store.failures import in_words

__all__ = ["HEAD_REVISION", "Store", "hold_until_commit", "insert_or_keep", "let_go_after_interrupt", "put_row"]

# The newest migration; a test keeps it equal to Alembic's head. Knowing it lets an
# up-to-date store open without importing Alembic at all (most commands, every run).
HEAD_REVISION = "0014"
SQLITE_BUSY_SECONDS = 30  # how long a writer waits for SQLite's write lock before the store is "busy"


def let_go_after_interrupt(interrupt: BaseException) -> None:
    """Release the write lock a statement cut short by Ctrl-C still holds, so this process can write.

    A ``KeyboardInterrupt`` that lands while SQLite runs a statement (a batch's
    ``executemany``) leaves the statement referenced from the frames of its traceback.
    SQLAlchemy closes the connection, but SQLite keeps a connection whose statements are not
    all finalised open as a "zombie", with its transaction and the database's write lock: the
    very next write of this process (recording that the run was stopped) would wait out the
    busy timeout and fail. Dropping the tracebacks of the interrupt and of the exceptions it
    interrupted, and collecting the reference cycles they formed, finalises the statement;
    SQLite then rolls the cut-short transaction back and the lock is free. The interrupt
    itself can still be raised again; only where it happened is forgotten.
    """
    seen = set()
    while interrupt is not None and id(interrupt) not in seen:
        seen.add(id(interrupt))
        interrupt.__traceback__ = None
        interrupt = interrupt.__context__ or interrupt.__cause__
    gc.collect()


# Alembic's own bookkeeping table, as ``alembic stamp`` creates it.
_version_table = Table("alembic_version", MetaData(), Column("version_num", String(32), primary_key=True))


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    # Records are a few hundred bytes of JSON each: 16 KiB pages write a batch in fewer, fuller
    # pages (bench/pipeline.py: about 15% less time in SQLite). It takes effect only when the
    # file is created, so it must come before WAL mode; on an existing store it changes nothing.
    cur.execute("PRAGMA page_size=16384")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_SECONDS * 1000}")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def _alembic_config(connection):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    cfg.attributes["connection"] = connection
    return cfg


def _create_at_head(conn) -> None:
    """Create every table of the models on an empty database and record it at the head revision.

    The rows the migrations seed are seeded here too (a test compares both paths' contents).
    """
    from hub.store.models import change_counter_table, metadata

    metadata.create_all(conn)
    conn.execute(change_counter_table.insert().values(id=1, value=0))
    _version_table.create(conn)
    conn.execute(_version_table.insert().values(version_num=HEAD_REVISION))


def insert_or_keep(conn: Connection, table: Table):
    """An INSERT into ``table`` that leaves a row already there (by its unique key) as it is."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(table).on_conflict_do_nothing()


def put_row(conn: Connection, table: Table, key: dict, values: dict) -> None:
    """Set ``values`` on the row of ``table`` that ``key`` (column: value) names, inserting it if there is none."""
    match = [table.c[column] == value for column, value in key.items()]
    if not conn.execute(table.update().where(*match).values(**values)).rowcount:
        conn.execute(table.insert().values(**key, **values))


def hold_until_commit(conn: Connection, subject: str) -> None:
    """On PostgreSQL, wait for and hold the advisory lock named ``subject`` until this transaction ends.

    Writers that must not interleave (appends to the audit chain, the records of one entity)
    take the same name; the number is derived from it, the same in every process. SQLite has
    one writer at a time anyway, and other dialects get nothing.
    """
    if conn.dialect.name == "postgresql":
        lock_id = int.from_bytes(hashlib.blake2b(f"wasl:{subject}".encode(), digest_size=8).digest(), "big", signed=True)
        conn.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": lock_id})


class Store:
    """A migrated database and its engine; services take a Store, not a URL."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sqlite_writer = threading.RLock()  # see writing(); re-entrant, so a nested writer errs (busy) instead of hanging
        self.write_wait = float(SQLITE_BUSY_SECONDS)  # how long a writer queues for it, as SQLite waits for its own lock
        self.checkpointer: WalCheckpointer | None = None  # see checkpoint_in_background()

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql`` (or another SQLAlchemy dialect name)."""
        return self.engine.dialect.name

    @contextmanager
    def writing(self, subject: str) -> Iterator[Connection]:
        """A transaction that reads, decides and writes, one at a time per ``subject`` across processes.

        Two API requests carrying the same record must not both read "not stored yet" and both
        insert it. SQLite: ``BEGIN IMMEDIATE`` takes the database's write lock before the first
        read, where a plain transaction would read outside it; threads of this process queue on
        a lock of their own first, because SQLite's busy handler polls with sleeps of up to
        100 ms and would leave the database idle between two requests (bench/ingest.py with four
        batches in flight: 2.5 s without this lock, 2.1 s with it). PostgreSQL: a transaction-scoped
        advisory lock named after ``subject`` (e.g. the entity), so writers of other subjects go
        on in parallel. Readers are never blocked either way.
        """
        if self.dialect == "sqlite":
            if not self._sqlite_writer.acquire(timeout=self.write_wait):
                # Queued as long as SQLite itself would wait: an overloaded store says so (the API
                # answers 503 with Retry-After) instead of holding the request without end.
                raise StoreError(f"store: busy, other writers held it for {self.write_wait:g} s", hint="try again shortly")
            try:
                with self.engine.begin() as conn:
                    conn.exec_driver_sql("BEGIN IMMEDIATE")
                    yield conn
            finally:
                self._sqlite_writer.release()
            return
        with self.engine.begin() as conn:
            hold_until_commit(conn, subject)
            yield conn

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        """A connection whose reads all see the store as it was at the first of them.

        For answers made of several reads that must add up, such as an account of money in and
        aid out: a push landing between two reads must show in both or in neither. SQLite's
        driver opens no transaction for a SELECT, so each read would see the newest commit;
        a deferred ``BEGIN`` holds one WAL snapshot from the first read until the end (writers
        go on meanwhile). PostgreSQL's default, READ COMMITTED, takes a snapshot per statement;
        a read-only REPEATABLE READ transaction takes one for all.
        """
        if self.dialect == "sqlite":
            with self.engine.connect() as conn:
                conn.exec_driver_sql("BEGIN")
                yield conn
            return
        with self.engine.connect().execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True) as conn:
            with conn.begin():
                yield conn

    @contextmanager
    def writing_if_free(self) -> Iterator[Connection | None]:
        """A write transaction if the store is free this instant, else None at once.

        For writes worth skipping rather than waiting for, such as a token's last-used time:
        a reader's request must not queue behind a long sync for a hint. PostgreSQL locks rows,
        not the database, so there it is a plain transaction.
        """
        if self.dialect != "sqlite":
            with self.engine.begin() as conn:
                yield conn
            return
        if not self._sqlite_writer.acquire(blocking=False):
            yield None
            return
        try:
            with self.engine.begin() as conn:
                conn.exec_driver_sql("PRAGMA busy_timeout=0")
                try:
                    conn.exec_driver_sql("BEGIN IMMEDIATE")
                    free = True
                except OperationalError:  # another process is writing
                    free = False
                try:
                    yield conn if free else None
                finally:
                    conn.exec_driver_sql(f"PRAGMA busy_timeout={SQLITE_BUSY_SECONDS * 1000}")
        finally:
            self._sqlite_writer.release()

    @classmethod
    def exists(cls, url: str) -> bool:
        """Whether a hub store is already at ``url``, found without creating one (an SQLite file, a table)."""
        parsed = make_url(url)
        if parsed.get_backend_name() == "sqlite":
            return bool(parsed.database) and parsed.database != ":memory:" and Path(parsed.database).is_file()
        store = cls.open(url, migrate=False)
        try:
            return inspect(store.engine).has_table("alembic_version")
        finally:
            store.engine.dispose()

    @classmethod
    def open(cls, url: str, *, migrate: bool = True) -> Store:
        """Open the store at ``url``, creating an SQLite file's folder and migrating as needed."""
        try:
            parsed = make_url(url)
        except ArgumentError:
            raise StoreError(
                f"store: {url!r} is not a database URL",
                hint="e.g. sqlite:///.hub/hub.db or postgresql+psycopg://user@host/db",
            ) from None
        shown = parsed.render_as_string(hide_password=True)
        if parsed.get_backend_name() not in ("sqlite", "postgresql"):
            raise StoreError(
                f"store: {shown}: the hub keeps its store in SQLite (embedded) or PostgreSQL, not {parsed.get_backend_name()}",
                hint="e.g. sqlite:///.hub/hub.db or postgresql+psycopg://user@host/db",
            )
        if parsed.get_backend_name() == "postgresql" and parsed.get_driver_name() != "psycopg":
            # postgresql:// alone means psycopg2 to SQLAlchemy; the hub installs psycopg 3.
            raise StoreError(
                f"store: {shown}: name the driver the hub installs, psycopg",
                hint=f"write it {parsed.set(drivername='postgresql+psycopg').render_as_string(hide_password=True)}",
            )
        # A statement's parameters are records: donors' names, phones, accounts. A database
        # error names the statement and the reason, never the data it carried.
        kwargs: dict = {"hide_parameters": True}
        if parsed.get_backend_name() == "sqlite":
            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            kwargs["connect_args"] = {"timeout": SQLITE_BUSY_SECONDS}
        else:
            kwargs["pool_pre_ping"] = True
        try:
            engine = create_engine(parsed, **kwargs)
        except (ArgumentError, ImportError) as exc:
            raise StoreError(f"store: cannot use {parsed.render_as_string(hide_password=True)}: {exc}") from None
        if engine.dialect.name == "sqlite":
            event.listen(engine, "connect", _sqlite_pragmas)
        store = cls(engine)
        if migrate:
            store.migrate()
        return store

    def _at_head(self) -> bool:
        try:
            with self.engine.connect() as conn:
                return conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() == HEAD_REVISION
        except SQLAlchemyError:
            return False

    def migrate(self, *, chain: bool = False) -> None:
        """Bring the schema to the newest migration (a no-op when already there).

        A database with no tables at all is created from the models and stamped at the head;
        ``chain=True`` takes it through every migration instead (what the tests compare).
        """
        if self._at_head():
            return
        try:
            with self.engine.begin() as conn:
                if not chain and not inspect(conn).get_table_names():
                    _create_at_head(conn)
                else:
                    from alembic import command

                    command.upgrade(_alembic_config(conn), "head")
        except SQLAlchemyError as exc:
            url = self.engine.url.render_as_string(hide_password=True)
            text = str(getattr(exc, "orig", exc)).lower()
            if any(marker in text for marker in ("already exists", "duplicate", "unique constraint", "database is locked")):
                # Several processes starting on a new store (a scheduler and its workers) race
                # to create it: the losers wait for the winner's migration instead of failing.
                deadline = time.monotonic() + 30
                while time.monotonic() < deadline:
                    if self._at_head():
                        return
                    time.sleep(0.2)
            said = in_words(exc, where=f"store {url}")
            if said is not None:
                raise said from None
            raise StoreError(f"store: migration failed: {exc}") from None

    def revision(self) -> str | None:
        """The Alembic revision the database is at."""
        from alembic.runtime.migration import MigrationContext

        with self.engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    def tables(self) -> list[str]:
        """Table names present in the database."""
        return sorted(inspect(self.engine).get_table_names())

    def checkpoint_in_background(self, every: float = 1.0) -> None:
        """SQLite: copy the write-ahead log into the database from a thread, not in commits.

        For processes that write for hours (``hub serve``, ``hub worker``); see
        hub.store.checkpoint. Other dialects, and an in-memory database, have nothing to copy.
        """
        database = self.engine.url.database
        if self.dialect != "sqlite" or not database or database == ":memory:" or self.checkpointer is not None:
            return
        self.checkpointer = WalCheckpointer(self.engine, every).start()

    def close(self) -> None:
        """Release every pooled connection."""
        if self.checkpointer is not None:
            self.checkpointer.stop()
            self.checkpointer = None
        self.engine.dispose()
