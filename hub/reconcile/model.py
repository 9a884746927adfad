"""The objects reconciliation works on: transactions, open donations, candidates, decisions, settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

__all__ = ["Candidate", "Decision", "OpenDonation", "Redenomination", "Settings", "Txn"]


@dataclass(frozen=True)
class Redenomination:
    """A currency whose unit changed: ``factor`` old units = 1 new unit from ``since``."""

    currency: str = "SYP"
    since: date = date(2026, 1, 1)
    factor: Decimal = Decimal(100)


@dataclass(frozen=True)
class Settings:
    """Thresholds and tolerances; from the ``reconcile:`` section of the config."""

    confirm: float = 0.9
    suggest: float = 0.6
    tie_margin: float = 0.05
    date_window_days: int = 90
    tolerance_percent: Decimal = Decimal("2")
    tolerance_absolute: dict[str, Decimal] = field(default_factory=lambda: {"USD": Decimal(5), "EUR": Decimal(5), "SYP": Decimal(500)})
    redenominations: tuple[Redenomination, ...] = (Redenomination(),)

    def unit(self, currency: str, on: date) -> str:
        """What an amount of ``currency`` dated ``on`` is counted in: its own epoch of a redenomination.

        250,000 old pounds and 2,500 new ones added together make a figure that is neither, so
        a total keeps the amounts from before the change apart, as ``SYP before 2026-01-01``.
        """
        for r in self.redenominations:
            if r.currency == currency and on < r.since:
                return f"{currency} before {r.since.isoformat()}"
        return currency

    def tolerance(self, currency: str, amount: Decimal) -> Decimal:
        """How far below the expected amount a payment may fall and still be paid in full (bank fees)."""
        return max(self.tolerance_absolute.get(currency, Decimal(0)), amount * self.tolerance_percent / 100)


@dataclass
class Txn:
    """A bank statement line, as matching needs it."""

    key: str
    id: str
    account: str
    booking_date: date
    amount: Decimal
    currency: str
    direction: str
    status: str
    reversal: bool
    payer_name: str | None
    payer_account: str | None
    remittance: str | None
    end_to_end_id: str | None
    creditor_reference: str | None
    record: dict


@dataclass
class OpenDonation:
    """A donation that money may still arrive for; ``paid`` is in the donation's own epoch."""

    key: str
    id: str
    association_id: str
    reference: str
    donor_key: str
    donor_name: str | None
    donor_account: str | None
    amount: Decimal
    currency: str
    donated_on: date
    status: str
    paid: Decimal
    transactions: list[str]
    record: dict
    connection: str | None = None
    aliases: list[str] = field(default_factory=list)

    def open_amount(self) -> Decimal:
        """What is still expected, in the donation's epoch (never below zero)."""
        return max(self.amount - self.paid, Decimal(0))


@dataclass
class Candidate:
    """One way a transaction could be explained: which donations, how much each, why."""

    rule: str
    score: float
    kind: str  # full | partial | multiple | overpaid
    donations: list[OpenDonation]
    allocations: list[Decimal]  # in the transaction's epoch, one per donation
    evidence: dict[str, Any]

    def donation_keys(self) -> tuple[str, ...]:
        return tuple(d.key for d in self.donations)


@dataclass
class Decision:
    """What reconciliation made of one transaction."""

    txn: Txn
    status: str  # matched | suggested | unmatched | ignored
    candidate: Candidate | None = None
    reason: str | None = None
    others: list[Candidate] = field(default_factory=list)
    match_id: int | None = None  # the stored decision this stands for (store mode)
