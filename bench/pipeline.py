"""Benchmark: donation rows from CSV through the real pipeline into SQLite, beside the raw floor.

    python bench/pipeline.py [--rows 200000] [--repeat 3] [--rss-rows 1000000]

End to end is ``hub run`` in a child process (so its peak RSS is its own): read the CSV,
map Arabic headers, convert decimals and dates, validate against the common schema, hash,
upsert by natural key, commit batch by batch with the cursor. The floor, measured in the same
run on the same file: stdlib ``csv`` + ``sqlite3.executemany`` into one plain table. The last
line reads ``ratio=R`` (end-to-end rate / floor rate).
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HEADER = ["رقم الإيصال", "اسم المتبرع", "المبلغ", "العملة", "التاريخ", "طريقة الدفع", "رقم المرجع"]
CONFIG = """\
store: sqlite:///hub.db
connections:
  donations:
    connector: csv
    settings: {path: donations.csv}
    streams:
      donations:
        entity: donation
        mapping:
          id: رقم الإيصال
          association_id: {const: assoc-bench}
          donor.name: اسم المتبرع
          amount: {column: المبلغ, type: decimal}
          currency: العملة
          donated_at: {column: التاريخ, type: datetime, format: "%d/%m/%Y"}
          channel: {column: طريقة الدفع, map: {تحويل بنكي: bank_transfer, نقدي: cash, المنصة: platform}}
          status: {const: pledged}
          reference: رقم المرجع
"""


def generate(path: Path, rows: int) -> None:
    """Write ``rows`` donation rows with Arabic headers (deterministic)."""
    rnd = random.Random(42)
    names = ["محمد أحمد", "فاطمة علي", "Sami Haddad", "عبد الله حسن", "مريم يوسف"]
    channels = ["تحويل بنكي", "نقدي", "المنصة"]
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(HEADER)
        for i in range(rows):
            w.writerow(
                [
                    f"D{i:08d}",
                    rnd.choice(names),
                    f"{rnd.randint(1, 500000)}.{rnd.randint(0, 99):02d}",
                    "SYP",
                    f"{rnd.randint(1, 28):02d}/{rnd.randint(1, 12):02d}/2026",
                    rnd.choice(channels),
                    f"RF{i:010d}",
                ]
            )


def floor(path: Path, db: Path) -> float:
    """Seconds for stdlib csv + sqlite3 executemany of the same rows into one plain table."""
    t0 = time.perf_counter()
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("CREATE TABLE donations (id TEXT PRIMARY KEY, name TEXT, amount TEXT, currency TEXT, date TEXT, channel TEXT, ref TEXT)")
    with path.open(encoding="utf-8", newline="") as f:
        r = csv.reader(f)
        next(r)
        batch = []
        for row in r:
            batch.append(row)
            if len(batch) == 5000:
                conn.executemany("INSERT INTO donations VALUES (?,?,?,?,?,?,?)", batch)
                conn.commit()
                batch = []
        conn.executemany("INSERT INTO donations VALUES (?,?,?,?,?,?,?)", batch)
        conn.commit()
    conn.close()
    return time.perf_counter() - t0


def end_to_end(folder: Path) -> tuple[float, float, str]:
    """Seconds and peak RSS (MiB) of ``hub run donations`` in a child process, and its output."""
    hub = Path(sys.executable).with_name("hub")
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t0 = time.perf_counter()
    proc = subprocess.run([str(hub), "-c", str(folder / "hub.yaml"), "run", "donations", "--json"], capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if proc.returncode not in (0, 1):
        sys.exit(f"hub run failed ({proc.returncode}): {proc.stderr}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return seconds, max(peak, before) / 1024, proc.stdout


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--repeat", type=int, default=3, help="time each side this many times and keep the best")
    ap.add_argument("--rss-rows", type=int, default=0, help="also run this many rows for the peak-RSS check (e.g. 1000000)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="wasl-bench-") as tmp:
        folder = Path(tmp)
        (folder / "hub.yaml").write_text(CONFIG, encoding="utf-8")
        generate(folder / "donations.csv", args.rows)
        size = (folder / "donations.csv").stat().st_size / 2**20
        # Each side is timed --repeat times, alternating, into a new database each time, and
        # the best time of each is kept (as timeit does: a shared machine only ever adds time).
        floors, e2es, rss = [], [], 0.0
        for _ in range(args.repeat):
            for name in ("floor.db", "hub.db"):
                for suffix in ("", "-wal", "-shm"):
                    (folder / f"{name}{suffix}").unlink(missing_ok=True)
            floors.append(floor(folder / "donations.csv", folder / "floor.db"))
            seconds, rss, _ = end_to_end(folder)
            e2es.append(seconds)
        floor_s, e2e_s = min(floors), min(e2es)
        e2e_rate, floor_rate = args.rows / e2e_s, args.rows / floor_s
        print(f"rows={args.rows} file={size:.1f}MiB  best of {args.repeat}")
        print(
            f"floor (csv + sqlite3 executemany): {floor_s:.2f}s  {floor_rate:,.0f} rows/s  (all: {', '.join(f'{x:.2f}' for x in floors)})"
        )
        print(
            f"end to end (hub run):              {e2e_s:.2f}s  {e2e_rate:,.0f} rows/s  peak RSS {rss:.0f} MiB  (all: {', '.join(f'{x:.2f}' for x in e2es)})"
        )
        rerun_s, _, _ = end_to_end(folder)
        print(f"re-run, nothing changed:           {rerun_s:.2f}s  {args.rows / rerun_s:,.0f} rows/s")
        if args.rss_rows:
            os.remove(folder / "hub.db")
            generate(folder / "donations.csv", args.rss_rows)
            big_s, big_rss, _ = end_to_end(folder)
            print(f"{args.rss_rows:,} rows end to end:       {big_s:.2f}s  peak RSS {big_rss:.0f} MiB (target < 300)")
        print(f"ratio={e2e_rate / floor_rate:.3f}")


if __name__ == "__main__":
    main()
