"""Deciding, line by line: candidates from every rule, the best explanation, and how sure it is.

Order of work (shared/DOMAIN.md, after CiviBanking, Odoo and ERPNext): set aside what is not
a booked credit (debits, pending lines, reversals, which also undo the match they reverse);
ask every rule for candidates; keep the best per set of donations; confirm only above the
confirm threshold with a clear lead over the runner-up and matching currencies; suggest above
the lower threshold; leave the rest unmatched with the reason. Lines are taken oldest first and
a confirmed payment reduces what its donations still expect, so one pledge is not paid twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from hub.reconcile.amounts import to_donation_epoch
from hub.reconcile.index import DonationIndex
from hub.reconcile.model import Candidate, Decision, OpenDonation, Settings, Txn

__all__ = ["Rule", "reconcile"]


class Rule:
    """A matching rule: ``candidates(txn, index, settings)`` returns the explanations it sees."""

    name = "rule"
    ceiling = 1.0  # the highest score it can give: weaker rules are not asked once a clear winner exists

    def candidates(self, txn: Txn, index: DonationIndex, settings: Settings) -> list[Candidate]:
        raise TypeError(f"{type(self).__name__} must implement candidates()")


def _apply(c: Candidate, txn: Txn, settings: Settings) -> None:
    for d, amount in zip(c.donations, c.allocations):
        d.paid += to_donation_epoch(d, amount, txn.booking_date, settings)
        if txn.key not in d.transactions:
            d.transactions.append(txn.key)
        tol = settings.tolerance(d.currency, d.amount)
        if d.paid >= d.amount - tol:
            d.status = "received"


def _undo(c: Candidate, txn: Txn, settings: Settings) -> None:
    for d, amount in zip(c.donations, c.allocations):
        d.paid -= to_donation_epoch(d, amount, txn.booking_date, settings)
        if txn.key in d.transactions:
            d.transactions.remove(txn.key)
        if d.paid < d.amount - settings.tolerance(d.currency, d.amount):
            d.status = "pledged"


def reconcile(
    txns: Iterable[Txn],
    donations: Sequence[OpenDonation],
    settings: Settings,
    rules: Sequence[Rule],
    *,
    memory: dict[str, list[str]] | None = None,
    rejected: set[tuple[str, tuple[str, ...]]] | None = None,
    confirmed: dict[str, Decision] | None = None,
) -> list[Decision]:
    """Decide every line; confirmed decisions are applied to the donations as they are made.

    ``confirmed`` holds earlier confirmed decisions by transaction key (store mode), so that a
    reversal arriving later undoes the match it reverses.
    """
    index = DonationIndex(list(donations), settings, memory)
    rejected = rejected or set()
    done: dict[str, Decision] = dict(confirmed or {})
    decisions: list[Decision] = []
    seen: set[str] = set()
    for txn in sorted(txns, key=lambda t: (t.booking_date, t.key)):
        if txn.key in seen:
            decisions.append(Decision(txn, "ignored", reason="the same statement line was imported twice"))
            continue
        seen.add(txn.key)
        if txn.status != "booked":
            decisions.append(Decision(txn, "ignored", reason="pending: matched only once the bank books it"))
            continue
        if txn.reversal:
            original = _reversed(txn, done)
            if original is not None:
                _undo(original.candidate, original.txn, settings)
                original.status, original.reason = "unmatched", f"reversed by {txn.id}"
                done.pop(original.txn.key, None)
                decisions.append(Decision(txn, "ignored", reason=f"reversal of {original.txn.id}: its match was undone"))
            else:
                decisions.append(Decision(txn, "ignored", reason="reversal: no matched payment it reverses was found"))
            continue
        if txn.direction != "credit":
            decisions.append(Decision(txn, "ignored", reason="debit: only money coming in is matched to donations"))
            continue
        decision = _decide(txn, index, settings, rules, rejected)
        if decision.status == "matched":
            _apply(decision.candidate, txn, settings)
            done[txn.key] = decision
        decisions.append(decision)
    return decisions


def _reversed(txn: Txn, done: dict[str, Decision]) -> Decision | None:
    for d in done.values():
        o = d.txn
        if o.amount != txn.amount or o.currency != txn.currency or o.account != txn.account:
            continue
        if txn.end_to_end_id and o.end_to_end_id == txn.end_to_end_id:
            return d
        if not txn.end_to_end_id and txn.remittance and o.remittance == txn.remittance:
            return d
    return None


def _decide(txn: Txn, index: DonationIndex, settings: Settings, rules: Sequence[Rule], rejected) -> Decision:
    best_per_set: dict[tuple[str, ...], Candidate] = {}
    top = 0.0
    for rule in rules:
        if getattr(rule, "ceiling", 1.0) < top - settings.tie_margin:
            continue  # it could neither win nor tie with what is already found
        for c in rule.candidates(txn, index, settings):
            k = c.donation_keys()
            if (txn.key, k) in rejected:
                continue
            if k not in best_per_set or c.score > best_per_set[k].score:
                best_per_set[k] = c
                top = max(top, c.score)
    if not best_per_set:
        return Decision(txn, "unmatched", reason="no open donation has this reference, payer account or amount")
    ranked = sorted(best_per_set.values(), key=lambda c: -c.score)
    best = ranked[0]
    runner = ranked[1] if len(ranked) > 1 else None
    if runner is not None and best.score - runner.score < settings.tie_margin:
        best.evidence["tie_with"] = [d.id for d in runner.donations]
        best.score = min(best.score, settings.confirm - 0.01)
    if any(d.currency != txn.currency for d in best.donations):
        best.evidence["currency_differs"] = sorted({d.currency for d in best.donations})
        best.score = min(best.score, settings.confirm - 0.01)
    best.score = round(max(0.0, min(1.0, best.score)), 3)
    if best.score >= settings.confirm:
        return Decision(txn, "matched", best, others=ranked[1:4])
    if best.score >= settings.suggest:
        return Decision(txn, "suggested", best, others=ranked[1:4])
    return Decision(
        txn,
        "unmatched",
        reason=f"best candidate scored {best.score} ({best.rule}), below the suggestion threshold {settings.suggest}",
        others=ranked,
    )
