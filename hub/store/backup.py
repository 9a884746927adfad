"""Backing up the embedded SQLite store while the hub works, and restoring it with the hub stopped.

``cp hub.db`` while a hub writes can copy a page half written, and misses whatever still sits
in the write-ahead log beside the file. Copying a backup back over ``hub.db`` while an old
``hub.db-wal`` lies beside it is worse: SQLite replays that log into the backup and damages
it. Both go through SQLite's online backup API instead:

- a backup is one read transaction, so the copy is the store as it stood at one commit while
  writers go on; it is written under a temporary name, checked, and renamed into place only
  once whole, so a backup killed halfway never passes for a complete one;
- a restore writes through SQLite into the store file with every other process shut out
  (``hub serve``, a worker or a run holding the store is named and the restore refused), and
  keeps the store it replaces beside it, and gives the restored store a new epoch
  (hub.store.epochs): hubs that pushed here after the backup was taken send it all again.

Neither migrates: a backup taken before an upgrade is the store as the older hub left it.
PostgreSQL has its own tools (pg_dump, a provider's snapshots, point-in-time recovery); both
refuse it with that advice.
"""

from __future__ import annotations

import os
import re
import sqlite3
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from hub.errors import InputError, StoreError
from hub.store import audit, epochs
from hub.store import runs as run_store
from hub.store.db import HEAD_REVISION, SQLITE_BUSY_SECONDS
from hub.store.failures import StoreBusy
from hub.store.types import utcnow

__all__ = ["Snapshot", "backup", "backup_into", "describe", "restore", "store_file"]

_POSTGRES_ADVICE = (
    "back a PostgreSQL store up with pg_dump (or the provider's snapshots) and restore it with pg_restore; "
    "hub backup and hub restore copy the embedded SQLite store"
)


@dataclass(frozen=True)
class Snapshot:
    """What a store file holds, for the person who will one day restore it."""

    path: str
    bytes: int
    revision: str  # the store's schema migration
    records: dict[str, int]  # per entity
    audit_entries: int
    audit_head: str  # the last audit entry's hash: ``hub audit verify --head`` proves nothing was cut
    audit_broken_at: int | None = None  # the first entry that no longer fits its chain, if any
    kept: str | None = None  # restore: where the store it replaced was kept

    def as_dict(self) -> dict:
        return asdict(self)


def store_file(store_url: str) -> Path:
    """The SQLite file a ``store:`` URL names; StoreError for any other store."""
    url = make_url(store_url)
    if url.get_backend_name() != "sqlite":
        raise StoreError(f"store: {url.render_as_string(hide_password=True)} is not an SQLite file", hint=_POSTGRES_ADVICE)
    if not url.database or url.database == ":memory:":
        raise StoreError("store: an in-memory database has nothing on disk to back up or restore")
    return Path(url.database)


def _read_only(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{quote(path.as_posix())}?mode=ro", uri=True, timeout=SQLITE_BUSY_SECONDS)


def describe(path: Path) -> Snapshot:
    """Check a store file (SQLite's own check, the schema's revision, the audit chain) and say what it holds.

    InputError if it is not a whole hub store: not a database, damaged, or made by a newer hub.
    """
    if not path.is_file():
        raise InputError.no_such_file(path, hint="name a file `hub backup FILE` wrote (its path from the current folder)")
    probe = _read_only(path)
    try:
        problems = [row[0] for row in probe.execute("PRAGMA quick_check")]
        if problems != ["ok"]:
            raise InputError(f"{path}: the file is damaged ({'; '.join(problems[:3])})", hint="take the backup again, or use an older one")
        tables = {row[0] for row in probe.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if not {"alembic_version", "records", "audit_log"} <= tables:
            raise InputError(f"{path}: not a hub store (it lacks the hub's tables)")
        revision = probe.execute("SELECT version_num FROM alembic_version").fetchone()
        records = dict(probe.execute("SELECT entity, count(*) FROM records GROUP BY entity ORDER BY entity").fetchall())
    except sqlite3.DatabaseError as exc:
        raise InputError(f"{path}: not a hub store ({exc})") from None
    finally:
        probe.close()
    if revision is None:
        raise InputError(f"{path}: not a hub store (no schema revision recorded)")
    if revision[0] > HEAD_REVISION:
        raise InputError(
            f"{path}: made by a newer hub (schema {revision[0]}; this hub knows up to {HEAD_REVISION})",
            hint="restore it with the hub version that made it",
        )
    # The chain is read through the models' types: each entry's digest covers its time as written.
    engine = create_engine("sqlite://", creator=lambda: _read_only(path), poolclass=NullPool)
    try:
        with engine.connect() as conn:
            chain = audit.verify(conn)
    finally:
        engine.dispose()
    return Snapshot(
        path=str(path),
        bytes=path.stat().st_size,
        revision=revision[0],
        records=records,
        audit_entries=chain.checked,
        audit_head=chain.head,
        audit_broken_at=chain.broken_at,
    )


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _copy(source: sqlite3.Connection, target: Path) -> None:
    """The whole of ``source`` as one self-contained file at ``target`` (no log beside it), on disk."""
    out = sqlite3.connect(target)
    try:
        source.backup(out)  # every page in one step: one read transaction, one commit's view
        out.execute("PRAGMA journal_mode=DELETE")
    finally:
        out.close()
    _fsync(target)


def backup(store_url: str, target: Path, *, overwrite: bool = False) -> Snapshot:
    """Copy the store at ``store_url`` to ``target`` while it may be in use; returns what the copy holds."""
    source_path = store_file(store_url)
    if not source_path.is_file():
        raise StoreError(f"store: {source_path} does not exist yet: there is nothing to back up")
    if target.exists() and target.resolve() == source_path.resolve():
        raise InputError(f"{target}: that is the store itself", hint="name a file elsewhere, ideally on another disk")
    if target.is_dir():
        raise InputError(f"{target}: is a folder", hint="name the backup file, e.g. backups/hub-2026-12-01.db")
    if target.exists() and not overwrite:
        raise InputError(f"{target}: already exists", hint="name a new file, or add --overwrite to replace it")
    if not target.parent.is_dir():
        raise InputError(f"{target.parent}: no such folder", hint="create it first")
    partial = target.with_name(f".{target.name}.partial")
    partial.unlink(missing_ok=True)  # left by a backup that was killed
    source = sqlite3.connect(f"file:{quote(source_path.as_posix())}", uri=True, timeout=SQLITE_BUSY_SECONDS)
    try:
        _copy(source, partial)
        taken = describe(partial)
        os.replace(partial, target)
        _fsync(target.parent)
    finally:
        source.close()
        partial.unlink(missing_ok=True)
    return replace(taken, path=str(target))


_SCHEDULED = re.compile(r"hub-\d{8}T\d{6}Z\.db")


def backup_into(store_url: str, folder: Path, *, keep: int) -> tuple[Snapshot, list[Path]]:
    """A backup named by its time (``hub-20261201T030000Z.db``) in ``folder``, and the oldest beyond ``keep`` removed.

    What the ``backup`` job does each night. Only files of that name are counted and removed;
    anything else kept in the folder is left alone. Returns the new copy and what was removed.
    """
    folder.mkdir(parents=True, exist_ok=True)
    taken = backup(store_url, folder / f"hub-{utcnow():%Y%m%dT%H%M%SZ}.db")
    ours = sorted(p for p in folder.iterdir() if _SCHEDULED.fullmatch(p.name))
    removed = ours[: max(0, len(ours) - keep)]
    for old in removed:
        old.unlink()
    return taken, removed


def _shut_out_others(store: Path) -> sqlite3.Connection:
    """A connection that holds the store alone until it is closed; StoreBusy if another process has it open.

    In exclusive locking mode SQLite keeps every lock it takes until the connection closes,
    and an exclusive lock cannot be had while any other connection holds the file, even one
    idle in a pool: a ``hub serve`` between requests is found as surely as a run mid-batch.
    """
    conn = sqlite3.connect(f"file:{quote(store.as_posix())}", uri=True, timeout=0, isolation_level=None)
    try:
        conn.execute("PRAGMA locking_mode=EXCLUSIVE")
        conn.execute("BEGIN EXCLUSIVE")
        conn.execute("COMMIT")
    except sqlite3.OperationalError as exc:
        conn.close()
        if "locked" in str(exc) or "busy" in str(exc):
            raise StoreBusy(
                f"store: {store} is open in another process (hub serve, hub worker or a run)",
                hint="stop it, then restore: a store replaced under a running hub would mix two pasts",
            ) from None
        raise
    return conn


_JOURNAL_MAGIC = bytes.fromhex("d9d505f920a163d7")  # how a rollback journal that still holds pages begins


def _drop_spent_journal(store: Path) -> None:
    """Remove the rollback journal the restore's copy left behind once it committed.

    A backup whose header says WAL (``sqlite3 hub.db .backup``, say) turns the store back to
    WAL inside the copy, and SQLite then leaves the copy's journal, its header zeroed, beside
    the store. A journal without the magic at its head holds nothing SQLite would replay.
    """
    journal = Path(f"{store}-journal")
    try:
        with journal.open("rb") as f:
            spent = f.read(len(_JOURNAL_MAGIC)) != _JOURNAL_MAGIC
    except FileNotFoundError:
        return
    if spent:
        journal.unlink()


def restore(store_url: str, source: Path) -> Snapshot:
    """Replace the store with the backup at ``source``; the store it replaces is kept beside it.

    The hub must be stopped. The restored store is migrated to this hub's schema, and its audit
    log gains an entry naming the backup and the head it ended at.
    """
    from hub.store.db import Store

    store_path = store_file(store_url)
    if source.exists() and store_path.exists() and source.resolve() == store_path.resolve():
        raise InputError(f"{source}: that is the store itself", hint="name the backup file to put back")
    restored = describe(source)
    if restored.audit_broken_at is not None:
        raise InputError(
            f"{source}: its audit log was altered at entry {restored.audit_broken_at}",
            hint="a backup whose history was changed is not restored; use another one",
        )
    kept = None
    if store_path.is_file():
        holder = _shut_out_others(store_path)
        try:
            kept_path = store_path.with_name(f"{store_path.name}.replaced-{utcnow():%Y%m%dT%H%M%SZ}")
            _copy(holder, kept_path)
            kept = str(kept_path)
            backup_conn = _read_only(source)
            try:
                # Through the log the store is in, the page size could not change; the backup's is kept.
                holder.execute("PRAGMA journal_mode=DELETE")
                backup_conn.backup(holder)
                holder.execute("PRAGMA journal_mode=WAL")
            finally:
                backup_conn.close()
        finally:
            holder.close()
        _drop_spent_journal(store_path)
    else:
        store_path.parent.mkdir(parents=True, exist_ok=True)
        for leftover in ("-wal", "-shm"):  # a log left beside a deleted store would be replayed into this one
            Path(f"{store_path}{leftover}").unlink(missing_ok=True)
        backup_conn = _read_only(source)
        try:
            _copy(backup_conn, store_path)
        finally:
            backup_conn.close()
    store = Store.open(store_url)  # a backup from before an upgrade is brought to this hub's schema
    try:
        with store.writing("restore") as conn:
            interrupted = run_store.interrupt_running(
                conn, "the store was restored from a backup taken while this run was going; run it again to resume"
            )
            # Hubs that pushed here since the backup was taken see a new epoch and send again.
            epoch = epochs.renew(conn)
            audit.append(
                conn,
                actor="cli",
                action="store.restore",
                subject="store",
                detail={
                    "from": str(source.resolve()),
                    "head": restored.audit_head,
                    "kept": kept,
                    "interrupted_runs": interrupted,
                    "store_epoch": epoch,
                },
                now=utcnow(),
            )
    finally:
        store.close()
    return replace(restored, path=str(store_path), kept=kept)
