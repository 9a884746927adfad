"""Benchmark: the account of 100,000 donations and 20,000 distributions, beside a read-and-parse floor.

    python bench/report.py [--donations 100000]

A hub's SQLite store holds ``--donations`` donations of 20 associations (both epochs of the
Syrian pound, dollars, every status and channel, a program for some) and a fifth as many
distributions. Timed: ``hub.services.report.account`` over all of them, as a platform token
asks for it (every association, every program). The floor, in the same run: the same records
read from the store and their JSON parsed, nothing added up; no account of the records can do
less. The last line reads ``ratio=R`` (account time / floor time).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import orjson
from seed import store  # bench/seed.py, beside this script
from sqlalchemy import select

from hub.app import Hub
from hub.services import browse, report
from hub.services.tokens import Principal
from hub.store.models import records_table

STATUSES = ["received", "received", "pledged", "refunded", "cancelled"]
CHANNELS = ["platform", "bank_transfer", "cash", "direct", "mobile"]
SECTORS = ["food_security", "health", "education", "winterization", "wash"]


def donation(i: int) -> dict:
    gift = {
        "id": f"D{i:08d}",
        "association_id": f"assoc-{i % 20:02d}",
        "amount": f"{(i % 9000) * 250 + 100}.50" if i % 7 == 0 else str((i % 300 + 1) * 1000),
        "currency": "USD" if i % 11 == 0 else "SYP",
        "donated_at": f"{2025 + i % 2}-{1 + i % 12:02d}-{1 + i % 28:02d}T10:00:00+03:00",
        "channel": CHANNELS[i % 5],
        "status": STATUSES[i % 5],
    }
    if i % 3 == 0:
        gift["program_id"] = f"P{i % 40:02d}"
    if gift["status"] == "pledged" and i % 2 == 0:
        gift["received_amount"] = "100"
    return gift


def distribution(i: int) -> dict:
    aid = {
        "id": f"X{i:08d}",
        "association_id": f"assoc-{i % 20:02d}",
        "sector": SECTORS[i % 5],
        "governorate": f"SY{1 + i % 14:02d}",
        "distributed_at": f"{2025 + i % 2}-{1 + i % 12:02d}-{1 + i % 28:02d}T09:00:00+03:00",
        "households": 1 + i % 40,
        "value": f"{(i % 500 + 1) * 1500}",
        "currency": "SYP",
        "program_id": f"P{i % 40:02d}",
    }
    if i % 2 == 0:
        aid["individuals"] = 5 * aid["households"]
    return aid


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--donations", type=int, default=100_000)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="wasl-bench-report-"))
    (work / "hub.yaml").write_text("store: sqlite:///hub.db\n", encoding="utf-8")
    hub = Hub.from_path(work / "hub.yaml")
    store(hub, "donation", [donation(i) for i in range(args.donations)])
    store(hub, "distribution", [distribution(i) for i in range(args.donations // 5)])
    platform = Principal(0, "bench", None, can_read=True, can_write=False)

    def floor() -> int:
        t = records_table
        n = 0
        with hub.store.engine.connect() as conn:
            for entity in ("program", "donation", "distribution"):
                q = select(t.c.data).where(t.c.entity == entity).order_by(t.c.id)
                for (data,) in conn.execution_options(yield_per=2000).execute(q):
                    orjson.loads(data)
                    n += 1
        return n

    # Alternate the two, three times each, and keep each one's best: the machine is shared.
    account_times, floor_times = [], []
    for _ in range(3):
        t0 = time.perf_counter()
        account = report.account(hub, platform, browse.Filters())
        account_times.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        read = floor()
        floor_times.append(time.perf_counter() - t0)
    hub.close()
    assert account["money_in"]["count"] == args.donations and read == args.donations + args.donations // 5
    best, base = min(account_times), min(floor_times)
    print(f"records={read} (donations {args.donations}, distributions {args.donations // 5})")
    print(f"given: {account['money_in']['given']}")
    print(f"account: {best:.2f} s  {read / best:,.0f} records/s")
    print(f"floor (read and parse the same records): {base:.2f} s  {read / base:,.0f} records/s")
    print(f"ratio={best / base:.2f}")


if __name__ == "__main__":
    main()
