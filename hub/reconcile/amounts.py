"""Amounts across the redenomination, and whether a payment fits what was expected.

A pledge of 250,000 SYP made in 2025 is paid by a transfer of 2,500 SYP in 2026: an amount
is compared in the epoch of the transaction's date, and the conversion is recorded.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from hub.reconcile.model import OpenDonation, Settings

__all__ = ["expected", "fit", "to_donation_epoch"]


def _crossing(settings: Settings, currency: str, donated: date, paid: date):
    for r in settings.redenominations:
        if r.currency == currency and donated < r.since <= paid:
            return r
    return None


def expected(d: OpenDonation, on: date, settings: Settings) -> tuple[Decimal, dict[str, Any] | None]:
    """The donation's open amount in the epoch of ``on``, and the conversion made (or None)."""
    open_amount = d.open_amount()
    r = _crossing(settings, d.currency, d.donated_on, on)
    if r is None:
        return open_amount, None
    converted = (open_amount / r.factor).quantize(Decimal("0.01"))
    return converted, {
        "currency": r.currency,
        "factor": str(r.factor),
        "since": r.since.isoformat(),
        "original": format(open_amount, "f"),
        "converted": format(converted, "f"),
    }


def to_donation_epoch(d: OpenDonation, amount: Decimal, on: date, settings: Settings) -> Decimal:
    """A payment made on ``on`` expressed in the donation's own epoch."""
    r = _crossing(settings, d.currency, d.donated_on, on)
    return amount * r.factor if r else amount


def fit(expected_amount: Decimal, paid: Decimal, currency: str, settings: Settings) -> tuple[str, dict[str, Any]]:
    """``full`` (within tolerance below), ``partial`` or ``overpaid``, with the gap as evidence."""
    gap = paid - expected_amount
    if gap == 0:
        return "full", {"amount_gap": "0"}
    tol = settings.tolerance(currency, expected_amount)
    if gap < 0 and -gap <= tol:
        return "full", {"amount_gap": format(gap, "f"), "underpaid_within_tolerance": format(-gap, "f")}
    if gap < 0:
        return "partial", {"amount_gap": format(gap, "f")}
    return "overpaid", {"amount_gap": format(gap, "f"), "excess": format(gap, "f")}
