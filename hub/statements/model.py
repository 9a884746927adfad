"""What a parsed statement holds, and the fingerprint for lines without a bank reference."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from decimal import Decimal

__all__ = ["Statement", "fingerprint"]


@dataclass
class Statement:
    """One statement (or notification, or report) of one account."""

    id: str
    account: str
    currency: str | None
    transactions: list[dict] = field(default_factory=list)
    opening: Decimal | None = None
    closing: Decimal | None = None
    source: str = ""

    def balance_problem(self) -> str | None:
        """A sentence when opening + booked credits - booked debits != closing; None when it adds up or cannot be checked."""
        if self.opening is None or self.closing is None:
            return None
        net = Decimal(0)
        for t in self.transactions:
            if t["status"] != "booked":
                continue
            amount = Decimal(t["amount"])
            net += amount if t["direction"] == "credit" else -amount
        if self.opening + net != self.closing:
            return (
                f"statement {self.id} of {self.account}: opening {self.opening} + lines {net} = {self.opening + net}, "
                f"but the closing balance is {self.closing}: a line is missing or doubled"
            )
        return None


def fingerprint(*parts: object) -> str:
    """A stable id for a line the bank gave no reference: account, dates, amount, text, position."""
    body = "\x1f".join("" if p is None else str(p) for p in parts)
    return "FP-" + hashlib.sha256(body.encode()).hexdigest()[:24].upper()
