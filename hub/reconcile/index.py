"""Open donations indexed three ways, so that no rule ever compares every credit with every donation.

by reference (normalised), by payer account (the donor's own and any an accountant confirmed),
and by amount (each donation under its amount in both epochs when the redenomination may
separate pledge and payment).
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from decimal import Decimal

from hub.reconcile.amounts import expected
from hub.reconcile.model import OpenDonation, Settings, Txn
from hub.reconcile.names import family_block
from hub.reconcile.references import normalize_reference, reference_candidates

__all__ = ["DonationIndex"]


def _by_date_then_key(x: tuple) -> tuple[int, str]:
    return x[0], x[1]


def _amount_key(currency: str, amount: Decimal) -> tuple[str, str]:
    return currency, format(amount.quantize(Decimal("0.01")), "f")


class DonationIndex:
    """Look-ups from a transaction to the donations it may pay."""

    def __init__(self, donations: list[OpenDonation], settings: Settings, memory: dict[str, list[str]] | None = None):
        self.settings = settings
        self.by_key = {d.key: d for d in donations}
        self.by_reference: dict[str, list[OpenDonation]] = defaultdict(list)
        self.by_account: dict[str, list[OpenDonation]] = defaultdict(list)
        # Amount buckets split by the first letters of the family name and sorted by date, so
        # the amount-and-name rule looks only at plausible people inside the date window.
        self._blocks: dict[tuple[str, str], dict[str, list[tuple[int, str, OpenDonation]]]] = defaultdict(lambda: defaultdict(list))
        by_donor: dict[str, list[OpenDonation]] = defaultdict(list)
        for d in donations:
            ref = normalize_reference(d.reference)
            if ref:
                self.by_reference[ref].append(d)
            by_donor[d.donor_key].append(d)
            if d.donor_account:
                self.by_account[d.donor_account].append(d)
            keys = [_amount_key(d.currency, d.amount)]
            for r in settings.redenominations:
                if d.currency == r.currency and d.donated_on < r.since:
                    keys.append(_amount_key(d.currency, d.amount / r.factor))
            blocks = {family_block(n) for n in [d.donor_name, *d.aliases] if n} or {""}
            for k in keys:
                for b in blocks:
                    self._blocks[k][b].append((d.donated_on.toordinal(), d.key, d))
        for per_block in self._blocks.values():
            for lst in per_block.values():
                lst.sort(key=_by_date_then_key)
        # Accounts confirmed by a person for a donor: every open donation of that donor.
        for account, donor_keys in (memory or {}).items():
            for dk in donor_keys:
                for d in by_donor.get(dk, ()):
                    if d not in self.by_account[account]:
                        self.by_account[account].append(d)

    def by_references(self, txn: Txn) -> list[OpenDonation]:
        """Donations whose reference appears in the line's remittance, creditor reference or end-to-end id."""
        found: dict[str, OpenDonation] = {}
        for cand in reference_candidates(txn.remittance, txn.creditor_reference, txn.end_to_end_id):
            for d in self.by_reference.get(cand, ()):
                found[d.key] = d
        return sorted(found.values(), key=lambda d: (d.donated_on, d.key))

    def by_payer(self, txn: Txn) -> list[OpenDonation]:
        """Donations of the donor who owns the paying account, oldest first."""
        if not txn.payer_account:
            return []
        return sorted(self.by_account.get(txn.payer_account, ()), key=lambda d: (d.donated_on, d.key))

    def by_amount_and_name(self, txn: Txn, earliest: int, latest: int, limit: int = 200) -> tuple[list[OpenDonation], OpenDonation | None]:
        """Donations of the line's amount, donated between two ordinal dates, whose family name could be the payer's.

        Returns (candidates, the donation of that amount closest in date whatever its name).
        The closest in date come first and at most ``limit`` are returned.
        """
        key = _amount_key(txn.currency, txn.amount)
        per_block = self._blocks.get(key)
        if not per_block:
            return [], None
        if txn.payer_name:
            wanted = {family_block(txn.payer_name), ""}
        elif txn.remittance:
            wanted = set(per_block)  # no payer field: the donor's name may be in the free text
        else:
            wanted = {""}
        out: list[OpenDonation] = []
        for b in wanted:
            lst = per_block.get(b, ())
            lo = bisect.bisect_left(lst, (earliest, ""))
            hi = bisect.bisect_right(lst, (latest, "\uffff"))
            out.extend(x[2] for x in lst[lo:hi])
        target = txn.booking_date.toordinal()

        def fits(d: OpenDonation) -> bool:
            if d.currency != txn.currency:
                return False
            if not d.paid and d.amount == txn.amount:
                return True  # the common case, without the epoch arithmetic
            return expected(d, txn.booking_date, self.settings)[0] == txn.amount

        out = [d for d in out if fits(d)]
        out.sort(key=lambda d: abs(target - d.donated_on.toordinal()))
        nearest = out[0] if out else None
        if nearest is None:
            for lst in per_block.values():
                i = bisect.bisect_left(lst, (target, ""))
                for x in lst[max(0, i - 2) : i + 2]:
                    if (
                        earliest <= x[0] <= latest
                        and fits(x[2])
                        and (nearest is None or abs(target - x[0]) < abs(target - nearest.donated_on.toordinal()))
                    ):
                        nearest = x[2]
        return out[:limit], nearest
