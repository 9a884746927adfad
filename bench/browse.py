"""Benchmark: the API's filtered first pages over 200,000 distributions and 200,000 donations.

    python bench/browse.py [--records 200000] [--store URL]

A donor or the platform's site asks for "food aid in Quneitra" or "what was given on 3 May":
``GET /api/v1/{entity}`` with a governorate, sector, program or date filter. Each listing is
timed here as the API runs it (``hub.services.browse.list_records``, a platform token, the
first page of 100), on a store holding ``--records`` distributions and as many donations.
The values are chosen so that matches are rare (one distribution in 2,000 is in SY14) or
absent, the case where a page has to look furthest for its rows.

The baseline, measured in the same run: the first page filtered by association, a plain
indexed column. The last line reads ``ratio=R``: the slowest filtered page over the baseline.
``--store`` takes an empty database's URL (PostgreSQL); by default a SQLite file.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import date
from pathlib import Path

from seed import store  # bench/seed.py, beside this script

from hub.app import Hub
from hub.services import browse
from hub.services.tokens import Principal

SECTORS = ["food_security", "health", "education", "winterization", "wash"]


def distribution(i: int) -> dict:
    return {
        "id": f"X{i:08d}",
        "association_id": f"assoc-{i % 20:02d}",
        "sector": SECTORS[i % 5],
        # One in 2,000 in SY14; the rest over the other thirteen.
        "governorate": "SY14" if i % 2000 == 7 else f"SY{1 + i % 13:02d}",
        "distributed_at": f"2025-{1 + i % 12:02d}-{1 + i % 28:02d}T09:00:00+03:00",
        "households": 1 + i % 40,
        "program_id": f"P{i % 40:02d}",
    }


def donation(i: int) -> dict:
    return {
        "id": f"D{i:08d}",
        "association_id": f"assoc-{i % 20:02d}",
        "amount": str((i % 300 + 1) * 1000),
        "currency": "SYP",
        # One donation a day in 2026, the rest in 2025.
        "donated_at": f"2026-01-{1 + i // 500 % 28:02d}T10:00:00+03:00" if i % 500 == 0 else f"2025-{1 + i % 12:02d}-01T10:00:00+03:00",
        "channel": "cash",
        "status": "received",
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=200_000)
    ap.add_argument("--store", help="an empty database's URL (PostgreSQL); default a SQLite file of its own")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="wasl-bench-browse-"))
    (work / "hub.yaml").write_text(f"store: {args.store or 'sqlite:///hub.db'}\n", encoding="utf-8")
    hub = Hub.from_path(work / "hub.yaml")
    t0 = time.perf_counter()
    store(hub, "distribution", (distribution(i) for i in range(args.records)))
    store(hub, "donation", (donation(i) for i in range(args.records)))
    if hub.store.dialect == "postgresql":  # as the store's own freshness check would have by now
        with hub.store.engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE records")
    print(f"stored {args.records:,} distributions and {args.records:,} donations in {time.perf_counter() - t0:.1f} s ({hub.store.dialect})")
    platform = Principal(0, "bench", None, can_read=True, can_write=False)
    F = browse.Filters
    listings = {
        "distributions of one association (baseline)": ("distribution", F(association="assoc-07")),
        "distributions in SY14 (1 in 2,000)": ("distribution", F(governorate="SY14")),
        "distributions in SY14, food security": ("distribution", F(governorate="SY14", sector="food_security")),
        "distributions of sector shelter (none)": ("distribution", F(sector="shelter")),
        "distributions of program P99 (none)": ("distribution", F(program="P99")),
        "distributions on 2024-05-03 (none)": ("distribution", F(date_from=date(2024, 5, 3), date_to=date(2024, 5, 3))),
        "donations on 2026-01-03 (1 in 500)": ("donation", F(date_from=date(2026, 1, 3), date_to=date(2026, 1, 3))),
        "donations from 2026-01-01 (1 in 500)": ("donation", F(date_from=date(2026, 1, 1))),
    }
    # Each listing five times, interleaved, its best kept: the machine is shared.
    best: dict[str, float] = {}
    found: dict[str, int] = {}
    for _ in range(5):
        for name, (entity, filters) in listings.items():
            t = time.perf_counter()
            page = browse.list_records(hub, platform, entity, filters)
            best[name] = min(best.get(name, float("inf")), time.perf_counter() - t)
            found[name] = len(page["items"])
    hub.close()
    base_name = next(iter(listings))
    base = best[base_name]
    for name, seconds in best.items():
        print(f"{name}: {seconds * 1000:.1f} ms, {found[name]} rows, {seconds / base:.1f}x")
    print(f"ratio={max(best.values()) / base:.2f}")


if __name__ == "__main__":
    main()
