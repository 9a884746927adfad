"""Benchmark: ``hub reconcile`` over the store, beside the same matching from the files alone.

    python bench/reconcile_store.py [--n 20000] [--store URL]

A hub holds ``--n`` pledged donations and a camt.053 statement of as many booked credits,
each quoting its donation's reference (synced with ``hub run``, not timed). Timed, as a
person runs them:

- the files floor: ``hub reconcile --statement s.xml --donations d.jsonl``, the same matching
  read from the files, nothing recorded;
- over the store: ``hub reconcile``, which also records every decision, writes each paid
  donation's new version (``received``) with its history, and queues it for delivery.

The last line reads ``ratio=R`` (store time / files time): what recording the decisions costs
over deciding them. ``--store`` runs it on PostgreSQL (an empty database).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CONFIG = """\
store: sqlite:///hub.db
batch_size: 1000
connections:
  donations:
    connector: jsonl
    settings: {path: d.jsonl}
    streams:
      d: {entity: donation}
  bank:
    connector: statement
    settings: {path: s.xml}
"""


def donation(i: int) -> dict:
    return {
        "id": f"D{i:07d}",
        "association_id": "assoc-bench",
        "amount": f"{100 + i % 997}.00",
        "currency": "USD",
        "donated_at": "2026-10-01T10:00:00+03:00",
        "channel": "bank_transfer",
        "status": "pledged",
        "reference": f"AMAL-{i:07d}",
        "donor": {"name": "فاطمة علي"},
    }


def statement(n: int) -> str:
    """A camt.053 statement of ``n`` booked credits, each quoting one donation's reference."""
    entries = "".join(
        f'<Ntry><Amt Ccy="USD">{100 + i % 997}.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts>'
        "<BookgDt><Dt>2026-10-10</Dt></BookgDt><ValDt><Dt>2026-10-10</Dt></ValDt>"
        f"<NtryDtls><TxDtls><Refs><AcctSvcrRef>T{i:07d}</AcctSvcrRef></Refs>"
        f'<Amt Ccy="USD">{100 + i % 997}.00</Amt><RmtInf><Ustrd>AMAL-{i:07d}</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>'
        for i in range(n)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt>'
        "<GrpHdr><MsgId>BENCH</MsgId><CreDtTm>2026-10-31T18:00:00</CreDtTm></GrpHdr>"
        "<Stmt><Id>S1</Id><CreDtTm>2026-10-31T18:00:00</CreDtTm>"
        "<Acct><Id><IBAN>SY0012345678</IBAN></Id><Ccy>USD</Ccy></Acct>"
        f"{entries}</Stmt></BkToCstmrStmt></Document>"
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=20_000)
    ap.add_argument("--store", help="a store URL (PostgreSQL) instead of the SQLite default")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="wasl-bench-reconcile-store-"))
    (work / "hub.yaml").write_text(CONFIG, encoding="utf-8")
    (work / "d.jsonl").write_text("".join(json.dumps(donation(i), ensure_ascii=False) + "\n" for i in range(args.n)), encoding="utf-8")
    (work / "s.xml").write_text(statement(args.n), encoding="utf-8")
    env = {**os.environ, "HUB_STORE": args.store} if args.store else {k: v for k, v in os.environ.items() if k != "HUB_STORE"}

    def hub(*argv: str) -> tuple[float, dict]:
        t = time.perf_counter()
        r = subprocess.run([sys.executable, "-m", "hub", *argv], cwd=work, env=env, capture_output=True, text=True)
        seconds = time.perf_counter() - t
        if r.returncode != 0:
            raise SystemExit(f"hub {' '.join(argv)} exited {r.returncode}: {r.stderr[-500:]}")
        return seconds, json.loads(r.stdout) if r.stdout.strip().startswith("{") else {}

    hub("run", "donations", "--json")
    hub("run", "bank", "--json")
    files, by_files = hub("reconcile", "--statement", "s.xml", "--donations", "d.jsonl", "--json")
    stored, by_store = hub("reconcile", "--json")
    assert len(by_files["matched"]) == len(by_store["matched"]) == args.n, (len(by_files["matched"]), len(by_store["matched"]))
    print(f"donations={args.n} credits={args.n} store={'sqlite' if not args.store else args.store.split(':')[0]}")
    print(f"files floor (hub reconcile --statement --donations, nothing recorded): {files:.2f} s  {args.n / files:,.0f} credits/s")
    print(f"over the store (decisions recorded, donations received, queued):     {stored:.2f} s  {args.n / stored:,.0f} credits/s")
    print(f"ratio={stored / files:.2f}")


if __name__ == "__main__":
    main()
