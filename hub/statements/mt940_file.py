"""SWIFT MT940 (and MT942) through the ``mt-940`` package, which knows the banks' ``:86:`` dialects.

A ``:61:`` line's bank reference (after ``//``) is its id; a line without one gets a
fingerprint (account, dates, amount, details, position). ``RC``/``RD`` mark reversals. The
SWIFT character set has no Arabic: names arrive transliterated, and matching folds them.
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import mt940

from hub.errors import InputError
from hub.statements.model import Statement, fingerprint

__all__ = ["parse_mt940"]


def _clean(v) -> str | None:
    if v is None:
        return None
    t = re.sub(r"\s+", " ", str(v)).strip()
    return t or None


def parse_mt940(path: Path) -> list[Statement]:
    """Parse an MT940 file into statements (one per ``:20:`` block)."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from None
    text = None
    for enc in ("utf-8-sig", "cp1252"):
        try:
            text = raw.decode(enc)
            break
        except UnicodeDecodeError:
            continue
    try:
        options = mt940.options.Options(applicant_iban=True, case_insensitive_marks=True)
        details = {"post_transaction_details": [mt940.processors.transaction_details_post_processor_with_space]}
        parsed = mt940.models.Transactions(processors=details, options=options)
        parsed.parse(text)
    except Exception as exc:  # noqa: BLE001 - the parser raises many kinds on malformed input
        raise InputError(f"{path}: not a readable MT940 statement ({type(exc).__name__}: {exc})") from None
    account = _clean(parsed.data.get("account_identification"))
    if not account:
        raise InputError(f"{path}: no :25: account line", hint="an MT940 statement starts with :20: and :25:")
    account = re.sub(r"\s+", "", account).upper()
    opening = parsed.data.get("final_opening_balance") or parsed.data.get("intermediate_opening_balance")
    closing = parsed.data.get("final_closing_balance") or parsed.data.get("intermediate_closing_balance")
    st = Statement(
        id=_clean(parsed.data.get("transaction_reference")) or path.name,
        account=account,
        currency=getattr(getattr(opening, "amount", None), "currency", None),
        opening=Decimal(str(opening.amount.amount)) if opening is not None else None,
        closing=Decimal(str(closing.amount.amount)) if closing is not None else None,
        source=str(path),
    )
    if not parsed.transactions and ":61:" in text:
        raise InputError(f"{path}: the :61: lines could not be read")
    for n, tx in enumerate(parsed.transactions, start=1):
        d = tx.data
        status = (d.get("status") or "").upper()
        if status not in ("C", "D", "RC", "RD"):
            raise InputError(f"{path} line {n} of :61:: debit/credit mark {status!r} is not C, D, RC or RD")
        amount = Decimal(str(d["amount"].amount))
        rec = {
            "account": account,
            "booking_date": str(d.get("entry_date") or d.get("date")),
            "value_date": str(d.get("date")),
            "amount": format(abs(amount).normalize(), "f"),
            "currency": d.get("currency") or st.currency or "",
            # RC (reversal of a credit) takes money out; RD (reversal of a debit) puts it back.
            "direction": "credit" if status in ("C", "RD") else "debit",
            "status": "booked",
            "reversal": status in ("RC", "RD"),
            "statement_id": st.id,
        }
        if d.get("id"):
            rec["bank_code"] = d["id"]
        name = _clean(d.get("applicant_name"))
        iban = _clean(d.get("applicant_iban"))
        if name or iban:
            rec["counterparty"] = {k: v for k, v in (("name", name), ("account", re.sub(r"\s+", "", iban).upper() if iban else None)) if v}
        remittance = _clean(d.get("purpose")) or _clean(d.get("transaction_details"))
        if remittance:
            rec["remittance"] = remittance
        eref = re.search(r"EREF\+(\S+)", d.get("transaction_details") or "")
        if eref and eref.group(1).upper() != "NOTPROVIDED":
            rec["end_to_end_id"] = eref.group(1)
        ref = _clean(d.get("bank_reference"))
        rec["id"] = ref or fingerprint(account, rec["booking_date"], rec["value_date"], rec["amount"], status, remittance, n)
        st.transactions.append(rec)
    return [st]
