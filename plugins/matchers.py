"""The built-in reconciliation rules, strongest first: reference, payer account, amount and name.

Scores, and why: a reference the donor was given is strong evidence (0.98 when the amount
fits); a payer account already known for the donor is strong (0.93); an amount that fits with
a similar name is weak and never confirms on its own (at most 0.85, under the default confirm
threshold of 0.9), because "Mohammad Ali" and "Mohammad Ahmad" look alike to any fuzzy score.
"""

from __future__ import annotations

from decimal import Decimal

from hub import hookimpl
from hub.reconcile.amounts import expected, fit
from hub.reconcile.engine import Rule
from hub.reconcile.model import Candidate
from hub.reconcile.names import name_in_text, name_similarity


def _single(rule: str, txn, d, settings, strong: float, evidence: dict) -> Candidate:
    want, conversion = expected(d, txn.booking_date, settings)
    if want <= 0:
        ev = {**evidence, "already_paid": True, "excess": format(txn.amount, "f")}
        return Candidate(rule, min(strong, 0.75), "overpaid", [d], [txn.amount], ev)
    kind, gap = fit(want, txn.amount, txn.currency, settings)
    ev = {**evidence, **gap, "expected": format(want, "f")}
    if conversion:
        ev["conversion"] = conversion
    # A part payment with strong evidence is applied as what it is (the pledge stays open for the
    # rest); an overpayment is a question for a person (where does the excess belong?).
    score = {"full": strong, "partial": strong - 0.02}.get(kind, strong - 0.12)
    return Candidate(rule, score, kind, [d], [txn.amount], ev)


def _oldest_first(rule: str, txn, donations, settings, score: float, evidence: dict) -> Candidate | None:
    """Several pledges paid by one transfer: allocate oldest first; fits when the sum does."""
    allocations, remaining, total = [], txn.amount, Decimal(0)
    conversions = []
    for d in donations:
        want, conversion = expected(d, txn.booking_date, settings)
        if conversion:
            conversions.append({"donation": d.id, **conversion})
        take = min(want, remaining)
        allocations.append(take)
        remaining -= take
        total += want
    kind, gap = fit(total, txn.amount, txn.currency, settings)
    if kind == "full" and remaining == 0 and allocations and allocations[-1] < total - sum(allocations[:-1]):
        # Underpaid within tolerance: the shortfall is the bank's fee, booked on the newest pledge.
        pass
    ev = {**evidence, **gap, "expected": format(total, "f"), "allocation": "oldest first"}
    if conversions:
        ev["conversion"] = conversions
    if kind == "overpaid":
        allocations[-1] += remaining  # the excess is reported, and stays with the newest pledge
    return Candidate(rule, score if kind == "full" else score - 0.12, "multiple", list(donations), allocations, ev)


class ReferenceRule(Rule):
    """The donation's payment reference (or end-to-end id) appears in what the payer wrote."""

    name = "reference"
    ceiling = 0.98

    def candidates(self, txn, index, settings):
        found = index.by_references(txn)
        if not found:
            return []
        evidence = {"reference_found": [d.reference for d in found]}
        if len(found) == 1:
            return [_single(self.name, txn, found[0], settings, 0.98, evidence)]
        open_ones = [d for d in found if expected(d, txn.booking_date, settings)[0] > 0]
        return [c for c in [_oldest_first(self.name, txn, open_ones, settings, 0.97, evidence)] if c] if open_ones else []


class PayerAccountRule(Rule):
    """The paying account is the donor's own (or one a reviewer confirmed), and the amount fits."""

    name = "account"
    ceiling = 0.93

    def candidates(self, txn, index, settings):
        mine = [d for d in index.by_payer(txn) if d.currency == txn.currency and expected(d, txn.booking_date, settings)[0] > 0]
        if not mine:
            return []
        evidence = {"account_known": txn.payer_account}
        exact = []
        for d in mine:
            want, _ = expected(d, txn.booking_date, settings)
            if fit(want, txn.amount, txn.currency, settings)[0] == "full":
                exact.append(_single(self.name, txn, d, settings, 0.93, evidence))
        if exact:
            return exact
        # Several pledges of this donor summing to the transfer, oldest first.
        running, chosen = Decimal(0), []
        for d in mine:
            running += expected(d, txn.booking_date, settings)[0]
            chosen.append(d)
            if len(chosen) > 1 and fit(running, txn.amount, txn.currency, settings)[0] == "full":
                return [_oldest_first(self.name, txn, chosen, settings, 0.92, evidence)]
        if len(mine) == 1:
            return [_single(self.name, txn, mine[0], settings, 0.93, evidence)]
        return [_single(self.name, txn, d, settings, 0.75, evidence) for d in mine]


class AmountNameRule(Rule):
    """Amount and currency equal within the date window, scored by how alike the names are."""

    name = "amount_name"
    ceiling = 0.85

    def candidates(self, txn, index, settings):
        out = []
        day = txn.booking_date.toordinal()
        found, nearest = index.by_amount_and_name(txn, day - settings.date_window_days, day + 3, limit=50)
        for d in found:
            days = (txn.booking_date - d.donated_on).days
            names = [n for n in [d.donor_name, *d.aliases] if n]
            if txn.payer_name:
                sim = max([name_similarity(txn.payer_name, n) for n in names] or [0.0])
                ev = {"name_similarity": sim, "payer_name": txn.payer_name}
            else:  # a line with no payer field: the donor's whole name written in its free text
                sim = max([name_in_text(n, txn.remittance) for n in names] or [0.0])
                ev = {"name_in_remittance": sim, "remittance": txn.remittance}
            if sim < 0.6:
                continue  # no name evidence: only the amount-only fallback below speaks for it
            # A name that does not agree adds nothing: the amount alone stays below the suggestion threshold.
            score = 0.45 + (0.4 * sim if sim >= 0.6 else 0.0) - 0.1 * max(days, 0) / settings.date_window_days
            ev |= {"date_gap_days": days, "donor_name": d.donor_name}
            out.append(_single(self.name, txn, d, settings, min(score, self.ceiling), ev))
        if not out:
            # The amount fits, but no name agrees: say so with the nearest donation, never as a suggestion.
            if nearest is None:
                return []
            return [Candidate(self.name, 0.45, "full", [nearest], [txn.amount], {"amount_fits": True, "name_agrees": False})]
        return sorted(out, key=lambda c: -c.score)[:5]


@hookimpl(trylast=True)
def hub_register_matchers(registry):
    registry.add(ReferenceRule())
    registry.add(PayerAccountRule())
    registry.add(AmountNameRule())
