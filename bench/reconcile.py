"""Benchmark: 100,000 booked credits against 100,000 open donations, beside the exact-reference floor.

    python bench/reconcile.py [--n 100000]

The mix: 60% of credits quote their donation's reference (some with spaces or dashes
changed), 25% carry only the donor's name (often transliterated) and the amount, 15% match
nothing. A fifth of the donations are round amounts (100, 250, ...) so amount buckets are
crowded, as in life. Timed: the whole reconciliation (indexes, every rule, decisions) and, in
the same run, the floor: the exact reference pass alone (candidate references of each line
looked up in a dictionary). The last line reads ``ratio=R`` (whole time / floor time).
"""

from __future__ import annotations

import argparse
import random
import resource
import time
from datetime import date, timedelta
from decimal import Decimal

from hub.plugins import Plugins
from hub.reconcile.engine import reconcile
from hub.reconcile.model import OpenDonation, Settings, Txn
from hub.reconcile.references import normalize_reference, reference_candidates

FIRST = ["محمد", "أحمد", "فاطمة", "عمر", "خالد", "ريم", "سامي", "لينا", "يوسف", "هبة", "رنا", "علي", "مريم", "حسن", "نور"]
LAST = ["الحلبي", "الشامي", "الخطيب", "النجار", "حداد", "خوري", "المصري", "العلي", "الأحمد", "السيد", "الحسن", "الزين", "قاسم", "الحمصي"]
LATIN = {
    "محمد": "MOHAMMAD",
    "أحمد": "AHMED",
    "فاطمة": "FATIMA",
    "عمر": "OMAR",
    "خالد": "KHALED",
    "ريم": "REEM",
    "سامي": "SAMI",
    "لينا": "LINA",
    "يوسف": "YOUSSEF",
    "هبة": "HIBA",
    "رنا": "RANA",
    "علي": "ALI",
    "مريم": "MARYAM",
    "حسن": "HASSAN",
    "نور": "NOUR",
    "الحلبي": "AL HALABI",
    "الشامي": "ALSHAMI",
    "الخطيب": "EL KHATIB",
    "النجار": "NAJJAR",
    "حداد": "HADDAD",
    "خوري": "KHOURY",
    "المصري": "AL-MASRI",
    "العلي": "ALALI",
    "الأحمد": "AL AHMAD",
    "السيد": "ELSAYED",
    "الحسن": "AL HASSAN",
    "الزين": "ZEIN",
    "قاسم": "KASSEM",
    "الحمصي": "HOMSI",
}
ROUND = [Decimal(x) for x in ("50", "100", "150", "200", "250", "300", "500", "1000", "25", "75")]


def make(n: int, seed: int = 7) -> tuple[list[Txn], list[OpenDonation]]:
    rnd = random.Random(seed)
    start = date(2026, 1, 1)
    donations = []
    for i in range(n):
        first, last = rnd.choice(FIRST), rnd.choice(LAST)
        amount = rnd.choice(ROUND) if rnd.random() < 0.2 else Decimal(rnd.randint(1000, 500000)) / 100
        rec = {}
        donations.append(
            OpenDonation(
                key=f"A1|D{i}",
                id=f"D{i}",
                association_id="A1",
                reference=f"AMAL-{100000 + i}",
                donor_key=f"A1|d{i}",
                donor_name=f"{first} {last}",
                donor_account=None,
                amount=amount,
                currency="USD",
                donated_on=start + timedelta(days=rnd.randint(0, 300)),
                status="pledged",
                paid=Decimal(0),
                transactions=[],
                record=rec,
            )
        )
    txns = []
    for i in range(n):
        d = donations[i]
        r = rnd.random()
        first, last = d.donor_name.split(" ", 1)
        when = d.donated_on + timedelta(days=rnd.randint(0, 20))
        if r < 0.60:
            ref = d.reference if rnd.random() < 0.5 else d.reference.replace("-", " ").lower()
            remittance, amount, name = f"donation {ref} thank you", d.amount, f"{LATIN[first]} {LATIN[last]}"
        elif r < 0.85:
            remittance, amount, name = "transfer", d.amount, f"{LATIN[first]} {LATIN[last]}"
        else:
            remittance, amount, name = "salary", Decimal(rnd.randint(100, 99999)) / 100 + Decimal("0.01"), "SOMEONE ELSE"
        txns.append(
            Txn(
                key=f"ACC|T{i}",
                id=f"T{i}",
                account="ACC",
                booking_date=when,
                amount=amount,
                currency="USD",
                direction="credit",
                status="booked",
                reversal=False,
                payer_name=name,
                payer_account=None,
                remittance=remittance,
                end_to_end_id=None,
                creditor_reference=None,
                record={},
            )
        )
    return txns, donations


def floor(txns: list[Txn], donations: list[OpenDonation]) -> tuple[float, int]:
    t0 = time.perf_counter()
    by_ref = {normalize_reference(d.reference): d for d in donations}
    found = 0
    for t in txns:
        for cand in reference_candidates(t.remittance, t.creditor_reference, t.end_to_end_id):
            if cand in by_ref:
                found += 1
                break
    return time.perf_counter() - t0, found


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000)
    args = ap.parse_args()
    txns, donations = make(args.n)
    rules = Plugins().load().matchers.rules()
    floor_s, found = floor(txns, donations)
    t0 = time.perf_counter()
    decisions = reconcile(txns, donations, Settings(), rules)
    whole_s = time.perf_counter() - t0
    counts = {s: sum(d.status == s for d in decisions) for s in ("matched", "suggested", "unmatched", "ignored")}
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"credits={args.n} donations={args.n}")
    print(f"floor (exact reference pass): {floor_s:.2f}s, {found:,} references found")
    print(f"whole reconciliation:         {whole_s:.2f}s  {args.n / whole_s:,.0f} credits/s  peak RSS {rss:.0f} MiB")
    print(f"decisions: {counts}")
    print(f"ratio={whole_s / floor_s:.2f}")


if __name__ == "__main__":
    main()
