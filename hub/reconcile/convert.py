"""From common-schema records to what matching works on, and back; settings from the config."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from hub.errors import ConfigError
from hub.reconcile.model import OpenDonation, Redenomination, Settings, Txn
from hub.reconcile.names import latin_fold

__all__ = ["donation_record_after", "donor_key", "open_donation", "settings_from", "txn"]


def settings_from(section: dict | None) -> Settings:
    """Settings from the config's ``reconcile:`` section (already schema-checked)."""
    s = section or {}
    base = Settings()
    try:
        tol = s.get("tolerance", {})
        redenoms = tuple(
            Redenomination(
                r.get("currency", "SYP"), date.fromisoformat(str(r.get("since", "2026-01-01"))), Decimal(str(r.get("factor", 100)))
            )
            for r in s.get("redenominations", [{"currency": "SYP", "since": "2026-01-01", "factor": 100}])
        )
        return Settings(
            confirm=float(s.get("confirm", base.confirm)),
            suggest=float(s.get("suggest", base.suggest)),
            tie_margin=float(s.get("tie_margin", base.tie_margin)),
            date_window_days=int(s.get("date_window_days", base.date_window_days)),
            tolerance_percent=Decimal(str(tol.get("percent", base.tolerance_percent))),
            tolerance_absolute={k: Decimal(str(v)) for k, v in tol.get("absolute", base.tolerance_absolute).items()},
            redenominations=redenoms,
        )
    except (ValueError, ArithmeticError) as exc:
        raise ConfigError(f"reconcile: {exc}") from None


def txn(key: str, r: dict) -> Txn:
    """A ``bank_transaction`` record as a matching line."""
    cp = r.get("counterparty") or {}
    return Txn(
        key=key,
        id=r["id"],
        account=r["account"],
        booking_date=date.fromisoformat(r["booking_date"]),
        amount=Decimal(r["amount"]),
        currency=r["currency"],
        direction=r["direction"],
        status=r["status"],
        reversal=bool(r.get("reversal")),
        payer_name=cp.get("name"),
        payer_account=cp.get("account"),
        remittance=r.get("remittance"),
        end_to_end_id=r.get("end_to_end_id"),
        creditor_reference=r.get("creditor_reference"),
        record=r,
    )


def donor_key(r: dict) -> str:
    """Who the donor is, for the payer memory: their id, else their folded name, else this donation."""
    donor = r.get("donor") or {}
    if donor.get("id"):
        return f"{r['association_id']}|id:{donor['id']}"
    if donor.get("name"):
        return f"{r['association_id']}|name:{latin_fold(donor['name'])}"
    return f"{r['association_id']}|donation:{r['id']}"


def open_donation(key: str, r: dict, connection: str | None = None, aliases: list[str] | None = None) -> OpenDonation | None:
    """A donation record as matching sees it; None for refunded or cancelled ones."""
    if r.get("status") in ("refunded", "cancelled"):
        return None
    amount = Decimal(r["amount"])
    paid = Decimal(r["received_amount"]) if "received_amount" in r else (amount if r.get("status") == "received" else Decimal(0))
    donor = r.get("donor") or {}
    return OpenDonation(
        key=key,
        id=r["id"],
        association_id=r["association_id"],
        reference=r.get("reference", ""),
        donor_key=donor_key(r),
        donor_name=donor.get("name"),
        donor_account=donor.get("account"),
        amount=amount,
        currency=r["currency"],
        donated_on=datetime.fromisoformat(r["donated_at"]).date(),
        status=r.get("status", "pledged"),
        paid=paid,
        transactions=list(r.get("transactions", [])),
        record=r,
        connection=connection,
        aliases=list(aliases or []),
    )


def donation_record_after(d: OpenDonation, paid_on: date | None, tz: Any) -> dict:
    """The donation's record once matching changed what was paid (a new version of it)."""
    rec = dict(d.record)
    rec["status"] = "received" if d.status == "received" else ("pledged" if rec.get("status") in ("pledged", "received") else rec["status"])
    if d.paid > 0:
        rec["received_amount"] = format(d.paid.normalize(), "f")
    else:
        rec.pop("received_amount", None)
    if d.transactions:
        rec["transactions"] = list(d.transactions)
    else:
        rec.pop("transactions", None)
    if d.status == "received" and paid_on is not None:
        rec["received_at"] = datetime.combine(paid_on, datetime.min.time(), tzinfo=tz).isoformat()
    elif d.status != "received":
        rec.pop("received_at", None)
    return rec
