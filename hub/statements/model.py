"""What a parsed statement holds, and the ids of lines without a bank reference."""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal

__all__ = ["Fingerprints", "Statement", "fingerprint"]


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
    """A stable id made of ``parts``; see ``Fingerprints`` for which parts a bank line's takes."""
    body = "\x1f".join("" if p is None else str(p) for p in parts)
    return "FP-" + hashlib.sha256(body.encode()).hexdigest()[:24].upper()


class Fingerprints:
    """Ids for the lines of one file that the bank gave no reference.

    A line's id must be the same in every statement that carries it: banks' downloads overlap
    (the 1st to the 15th, then the 10th to the 31st), and a line whose id changed would be
    stored and matched twice. So the id is made of what the line says (account, dates,
    amount, direction, text), not of its place in the statement, which differs between the
    two downloads. Two lines that say the same (two fees of 5 on one day) are told apart by
    their order among themselves: the first such line of the file, the second. Counted over
    the whole file, not per statement, so that the pages of one statement (MT940 ``:28C:``
    10/1, 10/2) never give two real lines one id.
    """

    __slots__ = ("_seen",)

    def __init__(self) -> None:
        self._seen: Counter[tuple] = Counter()

    def __call__(self, *says: object) -> str:
        """The id of the next line that says ``says``."""
        self._seen[says] += 1
        return fingerprint(*says, self._seen[says])
