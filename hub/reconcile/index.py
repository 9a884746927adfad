"""Open donations indexed three ways, so that no rule ever compares every credit with every donation.

by reference (normalised), by payer account (the donor's own and any an accountant confirmed),
and by amount (each donation under its amount in both epochs when the redenomination may
separate pledge and payment).
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from hub.reconcile.amounts import expected
from hub.reconcile.model import OpenDonation, Settings, Txn
from hub.reconcile.references import normalize_reference, reference_candidates

__all__ = ["DonationIndex"]


def _amount_key(currency: str, amount: Decimal) -> tuple[str, str]:
    return currency, format(amount.quantize(Decimal("0.01")), "f")


class DonationIndex:
    """Look-ups from a transaction to the donations it may pay."""

    def __init__(self, donations: list[OpenDonation], settings: Settings, memory: dict[str, list[str]] | None = None):
        self.settings = settings
        self.by_key = {d.key: d for d in donations}
        self.by_reference: dict[str, list[OpenDonation]] = defaultdict(list)
        self.by_account: dict[str, list[OpenDonation]] = defaultdict(list)
        self.by_amount: dict[tuple[str, str], list[OpenDonation]] = defaultdict(list)
        by_donor: dict[str, list[OpenDonation]] = defaultdict(list)
        for d in donations:
            ref = normalize_reference(d.reference)
            if ref:
                self.by_reference[ref].append(d)
            by_donor[d.donor_key].append(d)
            if d.donor_account:
                self.by_account[d.donor_account].append(d)
            self.by_amount[_amount_key(d.currency, d.amount)].append(d)
            for r in settings.redenominations:
                if d.currency == r.currency and d.donated_on < r.since:
                    self.by_amount[_amount_key(d.currency, d.amount / r.factor)].append(d)
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

    def by_amount_on(self, txn: Txn) -> list[OpenDonation]:
        """Donations whose open amount, in the epoch of the line's date, equals the line's amount."""
        out = []
        for d in self.by_amount.get(_amount_key(txn.currency, txn.amount), ()):
            if d.currency == txn.currency and expected(d, txn.booking_date, self.settings)[0] == txn.amount:
                out.append(d)
        return out
