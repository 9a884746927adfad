"""``hub backup`` while the platform takes pushes, and ``hub restore`` with it stopped: real files, real processes.

A copy is worth keeping only if it is the store as it stood at one commit. Each pushed batch
is one transaction holding its records, its audit entry and its change numbers, so a copy that
tore a commit in half would hold records without their audit entry (or the reverse); every
backup below is checked for exactly that.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import threading
import time
from pathlib import Path

import httpx

from tests.conftest import DONATION_RECORD, HubFolder, wait_for
from tests.platform.conftest import PLATFORM_CONFIG, Platform

BATCH = 50


def _platform(tmp_path: Path) -> Platform:
    folder = HubFolder(tmp_path / "platform")
    folder.path.mkdir()
    folder.write("hub.yaml", PLATFORM_CONFIG)  # the embedded SQLite store on every leg: what these commands copy
    return Platform(folder)


def _push_until(stop: threading.Event, url: str, token: str, sent: list[int]) -> None:
    """Batches of new donations, one request after another, until ``stop``."""
    with httpx.Client(timeout=30) as client:
        n = 0
        while not stop.is_set():
            records = [{**DONATION_RECORD, "id": f"D{n * BATCH + i:07d}"} for i in range(BATCH)]
            r = client.post(
                f"{url}/api/v1/donation/batch",
                json={"records": records},
                headers={"Authorization": f"Bearer {token}", "Idempotency-Key": f"batch-{n}"},
            )
            assert r.status_code == 200 and r.json()["accepted"] == BATCH, r.text
            n += 1
            sent.append(n)


def _holds(db: Path) -> tuple[int, int, int]:
    """Records, the audit entries of pushed batches, and the last change number, as the file holds them."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        records = conn.execute("SELECT count(*) FROM records").fetchone()[0]
        batches = conn.execute("SELECT count(*) FROM audit_log WHERE action = 'api.ingest'").fetchone()[0]
        last_change = conn.execute("SELECT value FROM change_counter").fetchone()[0]
        return records, batches, last_change
    finally:
        conn.close()


def test_backups_taken_while_the_platform_takes_pushes_each_hold_whole_commits_and_restore(tmp_path):
    platform = _platform(tmp_path).start()
    folder = platform.folder
    token = platform.token("amal", "assoc-amal")
    stop, sent = threading.Event(), []
    epoch_before = platform.get("/api/v1/token", token).json()["store_epoch"]
    pusher = threading.Thread(target=_push_until, args=(stop, platform.url, token, sent))
    pusher.start()
    try:
        assert wait_for(lambda: len(sent) >= 3), "the pushes did not start"
        copies = []
        for n in range(3):
            r = folder.hub("backup", f"copy-{n}.db", "--json")
            assert r.code == 0, r.err
            copies.append(json.loads(r.out))
            time.sleep(0.3)
        # The platform is in use: a restore now would swap its store under it.
        busy = folder.hub("restore", "--yes", "copy-0.db")
        assert busy.code == 75, busy.err
        assert "open in another process" in busy.err and "Traceback" not in busy.err
    finally:
        stop.set()
        pusher.join()
    platform.stop()
    pushed = len(sent) * BATCH
    assert platform.count() == pushed, "the refused restore changed nothing"

    held = []
    for copy in copies:
        db = folder.path / copy["path"]
        records, batches, last_change = _holds(db)
        assert records == batches * BATCH == last_change, f"{db.name} tore a commit: {records} records, {batches} batches"
        assert copy["records"] == {"donation": records} and copy["audit_broken_at"] is None
        assert not Path(f"{db}-wal").exists(), "a backup is one file, with no log beside it"
        held.append(records)
    assert 0 < held[0] <= held[1] <= held[2] < pushed, f"the copies were taken while the pushes went on: {held} of {pushed}"
    assert not list(folder.path.glob(".*.partial")), "no half-written copy is left behind"

    # Restored, the platform holds what the copy held, and says how it came back.
    restored = folder.hub("restore", "--yes", "copy-1.db")
    assert restored.code == 0, restored.err
    assert f"restored copy-1.db into {folder.path / 'hub.db'}" in restored.out
    assert "each hub pushing to this one sends everything again at its next run" in restored.out
    assert platform.count() == held[1]
    assert sorted(p.name for p in folder.path.glob("hub.db*")) == ["hub.db", kept_name(folder.path)], "no journal or log left beside it"
    [kept] = folder.path.glob("hub.db.replaced-*")
    assert _holds(kept)[0] == pushed, "the store the restore replaced is kept whole"
    assert str(kept) in restored.out
    # The chain goes on from the backup's head, with the restore as its newest entry.
    verified = folder.hub("audit", "verify", "--head", copies[1]["audit_head"], "--json")
    assert verified.code == 0 and json.loads(verified.out)["intact"], verified.out
    [newest] = json.loads(folder.hub("audit", "list", "--limit", "1", "--json").out)
    assert newest["action"] == "store.restore" and newest["detail"]["head"] == copies[1]["audit_head"]
    # And it serves again, from where the copy stood, under a new store epoch: the hubs that
    # pushed here since the copy was taken send it all again.
    platform.start()
    epoch_after = platform.get("/api/v1/token", token).json()["store_epoch"]
    assert epoch_after != epoch_before and newest["detail"]["store_epoch"] == epoch_after
    more = httpx.post(
        f"{platform.url}/api/v1/donation/batch",
        json={"records": [{**DONATION_RECORD, "id": "AFTER-RESTORE"}]},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert more.status_code == 200 and more.json()["accepted"] == 1, more.text
    platform.stop()
    assert platform.count() == held[1] + 1


def test_a_backup_that_is_not_whole_damaged_newer_or_altered_is_not_restored(tmp_path):
    folder = HubFolder(tmp_path)
    folder.write("hub.yaml", "store: sqlite:///hub.db\n")
    assert folder.hub("tokens", "create", "amal", "--association", "assoc-amal").code == 0
    assert folder.hub("backup", "good.db").code == 0
    good = (folder.path / "good.db").read_bytes()
    (folder.path / "not-a-store.db").write_text("donor,amount\nفاطمة,10\n", encoding="utf-8")
    (folder.path / "cut-short.db").write_bytes(good[: len(good) // 2])
    for name, change in (
        ("newer.db", "UPDATE alembic_version SET version_num = '9999'"),
        ("altered.db", "UPDATE audit_log SET actor = 'web:x'"),
    ):
        (folder.path / name).write_bytes(good)
        conn = sqlite3.connect(folder.path / name)
        conn.execute(change)
        conn.commit()
        conn.close()
    for name, said in (
        ("not-a-store.db", "not-a-store.db: not a hub store"),
        ("cut-short.db", "cut-short.db: "),
        ("newer.db", "made by a newer hub (schema 9999"),
        ("altered.db", "its audit log was altered at entry 1"),
        ("missing.db", "missing.db: no such file\n  hint: name a file `hub backup FILE` wrote"),
        ("hub.db", "hub.db: that is the store itself"),
    ):
        r = folder.hub("restore", "--yes", name)
        assert r.code == 2 and said in r.err and "Traceback" not in r.err, (name, r.err)
    assert not list(folder.path.glob("hub.db.replaced-*")), "a refused restore keeps nothing because it replaced nothing"
    assert [t["name"] for t in json.loads(folder.hub("tokens", "list", "--json").out)] == ["amal"]
    # Without --yes, and no terminal to ask on, nothing is replaced either.
    unasked = folder.hub("restore", "good.db")
    assert unasked.code == 2 and "add --yes" in unasked.err
    # The copy must not land on the store, on a folder, on another file, or where no folder is.
    for target, said in (
        ("hub.db", "that is the store itself"),
        (".", "is a folder"),
        ("good.db", "already exists"),
        ("no/such/folder/b.db", "no such folder"),
    ):
        r = folder.hub("backup", target)
        assert r.code == 2 and said in r.err, (target, r.err)
    assert (folder.path / "good.db").read_bytes() == good
    assert folder.hub("backup", "good.db", "--overwrite").code == 0
    # A copy made by SQLite's own shell of a store in WAL mode says WAL in its header; it is
    # restored all the same, and nothing of the copy is left beside the store.
    shell_copy = sqlite3.connect(folder.path / "shell-copy.db")
    live = sqlite3.connect(folder.path / "hub.db")
    live.backup(shell_copy)
    live.close()
    assert shell_copy.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    shell_copy.close()
    assert folder.hub("restore", "--yes", "shell-copy.db").code == 0
    assert sorted(p.name for p in folder.path.glob("hub.db*")) == ["hub.db", kept_name(folder.path)]
    # A store whose log was already altered is still copied (it is the evidence), and said so.
    folder.execute("UPDATE audit_log SET actor = 'web:x' WHERE id = 1")
    tampered = folder.hub("backup", "tampered.db")
    assert tampered.code == 0 and "the audit log was already altered at entry 1" in tampered.err, tampered.err


def test_a_backup_is_the_store_as_the_older_hub_left_it_and_a_restore_brings_it_up_to_date(tmp_path):
    # Taken before an upgrade, a backup must not be migrated by the newer hub that takes it.
    folder = HubFolder(tmp_path)
    folder.write("hub.yaml", "store: sqlite:///hub.db\n")
    assert folder.hub("tokens", "create", "amal", "--association", "assoc-amal").code == 0
    folder.execute("UPDATE alembic_version SET version_num = '0011'")
    # What migrations 0012 to 0014 create.
    for statement in (
        "DROP INDEX ix_records_distribution_governorate",
        "DROP TABLE store_epoch",
        "DROP TABLE destination_stores",
        "ALTER TABLE quarantine DROP COLUMN corrected",
    ):
        folder.execute(statement)
    r = folder.hub("backup", "before-upgrade.db", "--json")
    assert r.code == 0 and json.loads(r.out)["revision"] == "0011", r.out + r.err
    assert folder.sql("SELECT version_num FROM alembic_version") == [("0011",)], "the store was not migrated either"
    assert folder.hub("tokens", "list").code == 0  # any other command migrates it
    restored = folder.hub("restore", "--yes", "before-upgrade.db")
    assert restored.code == 0, restored.err
    assert folder.sql("SELECT version_num FROM alembic_version")[0][0] > "0011"
    assert folder.sql("SELECT count(*) FROM sqlite_master WHERE name = 'ix_records_distribution_governorate'") == [(1,)]


def test_a_backup_killed_halfway_leaves_nothing_that_passes_for_a_backup(tmp_path):
    folder = HubFolder(tmp_path)
    folder.write("hub.yaml", "store: sqlite:///hub.db\n")
    assert folder.hub("tokens", "create", "amal", "--association", "assoc-amal").code == 0
    # A store big enough that copying it takes a while (about 60 MB).
    folder.execute(
        "CREATE TABLE ballast AS WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 4000) "
        "SELECT randomblob(15000) AS b FROM n"
    )
    partial = folder.path / ".copy.db.partial"
    proc = folder.popen("backup", "copy.db")
    assert _wait_for_file(partial, proc), "the backup never began to write"
    os.kill(proc.pid, signal.SIGSTOP)  # frozen mid-copy: it cannot finish between this look and the kill
    assert partial.exists() and proc.poll() is None
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (folder.path / "copy.db").exists(), "a killed backup left a file that would pass for one"
    # The next backup starts over and completes.
    r = folder.hub("backup", "copy.db", "--json")
    assert r.code == 0, r.err
    assert not partial.exists()
    conn = sqlite3.connect(folder.path / "copy.db")
    assert conn.execute("PRAGMA quick_check").fetchone() == ("ok",)
    assert conn.execute("SELECT count(*) FROM ballast").fetchone() == (4000,)
    conn.close()


def _wait_for_file(path: Path, proc, timeout: float = 60) -> bool:
    """Poll closely for ``path`` while ``proc`` runs: the window before the copy completes is short."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if path.exists():
            return True
        time.sleep(0.002)
    return False


def kept_name(path: Path) -> str:
    [kept] = path.glob("hub.db.replaced-*")
    return kept.name
