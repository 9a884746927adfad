"""The store: migrations match the models, times keep their zone, the audit chain catches tampering."""

from __future__ import annotations

import sqlite3
from datetime import datetime

import pytest

from hub.store import Store, audit
from hub.store.db import HEAD_REVISION
from hub.store.types import utcnow
from tests.schema_shape import assert_new_store_matches_migrated, models_diff


@pytest.fixture
def store(tmp_path):
    s = Store.open(f"sqlite:///{tmp_path / 'nested' / 'hub.db'}")
    yield s
    s.close()


def test_migration_creates_what_the_models_describe(store):
    assert store.revision() == HEAD_REVISION
    with store.engine.connect() as conn:
        diff = models_diff(conn)
    assert diff == []
    assert {
        "records",
        "record_history",
        "stream_state",
        "runs",
        "quarantine",
        "outbox",
        "audit_log",
        "alembic_version",
    } <= set(store.tables())


def test_a_new_store_made_from_the_models_equals_one_taken_through_every_migration(tmp_path):
    assert_new_store_matches_migrated(f"sqlite:///{tmp_path / 'made.db'}", f"sqlite:///{tmp_path / 'chained.db'}")


def test_head_revision_constant_is_alembics_head():
    from pathlib import Path

    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from hub.store.db import HEAD_REVISION

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__import__("hub.store.db").store.db.__file__).parent / "migrations"))
    assert ScriptDirectory.from_config(cfg).get_current_head() == HEAD_REVISION


def test_opening_twice_is_a_noop_and_uses_wal(tmp_path):
    url = f"sqlite:///{tmp_path / 'hub.db'}"
    Store.open(url).close()
    again = Store.open(url)
    assert again.revision() == HEAD_REVISION
    with again.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    again.close()


def test_a_bad_store_url_is_a_clear_error():
    from hub.errors import StoreError

    with pytest.raises(StoreError, match="is not a database URL"):
        Store.open("not a url")
    # Another database, or PostgreSQL through a driver the hub does not install: said so, and
    # how to write it, where it was "No module named 'MySQLdb'" (the password never shown).
    with pytest.raises(StoreError, match="keeps its store in SQLite \\(embedded\\) or PostgreSQL, not mysql") as exc:
        Store.open("mysql://wasl:secret-pw@db.example.org/hub")
    assert "secret-pw" not in str(exc.value)
    with pytest.raises(StoreError, match="name the driver the hub installs, psycopg") as exc:
        Store.open("postgresql+psycopg2://wasl:secret-pw@db.example.org/hub")
    assert exc.value.hint == "write it postgresql+psycopg://wasl:***@db.example.org/hub" and "secret-pw" not in str(exc.value)


def test_naive_datetimes_are_refused_and_aware_ones_come_back_in_utc(store):
    with store.engine.begin() as conn, pytest.raises(Exception, match="naive datetime"):
        audit.append(conn, actor="t", action="x", subject="s", detail={}, now=datetime(2026, 1, 1))
    with store.engine.begin() as conn:
        audit.append(conn, actor="t", action="x", subject="s", detail={}, now=utcnow())
    with store.engine.connect() as conn:
        at = audit.entries(conn)[0]["at"]
    assert at.endswith("+00:00")


def test_audit_chain_names_the_first_altered_or_removed_entry(store, tmp_path):
    with store.engine.begin() as conn:
        for i in range(5):
            audit.append(conn, actor="admin", action="state.set", subject=f"state/c/{i}", detail={"n": i}, now=utcnow())
    with store.engine.connect() as conn:
        found = audit.verify(conn)
    assert (found.checked, found.broken_at) == (5, None)
    db = sqlite3.connect(tmp_path / "nested" / "hub.db")
    db.execute("update audit_log set detail = '{\"n\":99}' where id = 3")
    db.commit()
    with store.engine.connect() as conn:
        assert audit.verify(conn).broken_at == 3
    db.execute("update audit_log set detail = '{\"n\":2}' where id = 3")
    db.execute("delete from audit_log where id = 2")
    db.commit()
    db.close()
    with store.engine.connect() as conn:
        assert audit.verify(conn).broken_at == 3, "the entry after the removed one no longer links"


def test_key_lookup_finds_exactly_the_stored_keys_in_any_dialect_form(store, monkeypatch):
    check_key_lookup(store, monkeypatch)


def test_marking_outbox_rows_touches_exactly_the_ids_given_in_any_dialect_form(store, monkeypatch):
    check_outbox_marks(store, monkeypatch)


def check_key_lookup(store, monkeypatch):
    """The batch key lookup, in this store's dialect form and the generic one (PostgreSQL calls it too)."""
    from hub.store.bulk import select_in
    from hub.store.models import records_table
    from hub.store.records import Prepared, upsert_batch

    stored = [f"k{i:05d}" for i in range(0, 5000, 2)]
    items = [Prepared(k, f'{{"id":"{k}"}}', f"h{k}", "assoc-a") for k in stored]
    with store.engine.begin() as conn:
        upsert_batch(conn, "donation", items, connection="c", run_id=None, now=utcnow())
    asked = [f"k{i:05d}" for i in range(5000)] + ["k'; drop table records; --", "مفتاح"]
    table = records_table
    with store.engine.connect() as conn:
        as_json = select_in(conn, table, ["key", "hash"], {"entity": "donation"}, "key", asked)
        # Another dialect's form: plain IN lists of at most 1000 values each.
        monkeypatch.setattr(conn.dialect, "name", "other")
        as_lists = select_in(conn, table, ["key", "hash"], {"entity": "donation"}, "key", asked)
        none_of_another_entity = select_in(conn, table, ["key"], {"entity": "distribution"}, "key", asked)
    assert sorted(as_json) == sorted(as_lists) == [(k, f"h{k}") for k in stored]
    assert none_of_another_entity == []


def check_outbox_marks(store, monkeypatch):
    """Marking a batch's outbox rows, in this store's dialect form and the generic one."""
    from hub.store import outbox

    versions = [(f"assoc-a|D{i}", 1, f"{i:016x}", f'{{"id":"D{i}"}}') for i in range(1500)]
    with store.engine.begin() as conn:
        outbox.enqueue(conn, ["platform"], "donation", versions, run_id=None, now=utcnow())
        ids = [r[0] for r in conn.exec_driver_sql("SELECT id FROM outbox ORDER BY id")]
        outbox.mark_delivered(conn, ids[:1000:2], now=utcnow())  # the list as one parameter
        monkeypatch.setattr(conn.dialect, "name", "other")  # another dialect's form: an expanding IN
        outbox.mark_failed(conn, ids[1:1000:2], error="refused")
        monkeypatch.undo()
        outbox.mark_retry(conn, ids[1000:], error="later", next_attempt_at=utcnow())
        rows = dict(conn.exec_driver_sql("SELECT id, status FROM outbox").all())
        assert outbox.pending_count(conn, "platform") == 500
    assert [rows[i] for i in ids] == ["delivered", "rejected"] * 500 + ["pending"] * 500


def test_writers_of_one_subject_take_turns_and_each_reads_what_the_other_wrote(store):
    check_writers_take_turns(store)


def check_writers_take_turns(store):
    """Store.writing: a second writer waits until the first commits, then reads its rows (PostgreSQL calls it too)."""
    import threading
    import time

    from sqlalchemy import text

    with store.engine.begin() as conn:
        conn.execute(text("CREATE TABLE turns (n INTEGER PRIMARY KEY)"))
    seen = []

    def second():
        with store.writing("records:donation") as conn:
            n = conn.execute(text("SELECT count(*) FROM turns")).scalar()
            seen.append(n)
            conn.execute(text("INSERT INTO turns VALUES (:n)"), {"n": n})

    with store.writing("records:donation") as conn:
        conn.execute(text("INSERT INTO turns VALUES (0)"))
        other = threading.Thread(target=second)
        other.start()
        time.sleep(0.3)  # room for the second writer to (wrongly) read before this one commits
        assert seen == []
    other.join(30)
    assert seen == [1]
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT n FROM turns ORDER BY n")).scalars().all() == [0, 1]


def test_a_reading_sees_one_snapshot_while_a_write_lands(folder):
    """Store.reading: an account's reads add up even when a push commits between two of them."""
    from sqlalchemy import text

    store = Store.open(folder.store_url or f"sqlite:///{folder.path / 'hub.db'}")
    try:
        with store.engine.begin() as conn:
            conn.execute(text("CREATE TABLE probe (n INTEGER PRIMARY KEY)"))
            conn.execute(text("INSERT INTO probe VALUES (1)"))
        count = text("SELECT count(*) FROM probe")
        with store.reading() as conn:
            assert conn.execute(count).scalar() == 1
            with store.writing("records:donation") as writer:  # not blocked by the reader
                writer.execute(text("INSERT INTO probe VALUES (2)"))
            assert conn.execute(count).scalar() == 1, "a write committed after the first read stays out of this reading"
        with store.reading() as conn:
            assert conn.execute(count).scalar() == 2
    finally:
        store.close()
