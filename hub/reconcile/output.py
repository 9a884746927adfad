"""Decisions as people and scripts read them: the JSON of ``hub reconcile --json``, and the report."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from hub.reconcile.model import Decision, Settings
from hub.services.spreadsheet import save_workbook, write_table, xlsx_cell

__all__ = ["as_json", "totals", "write_report"]

_GROUP = {"matched": "matched", "suggested": "suggested", "unmatched": "unmatched", "ignored": "ignored"}


def as_json(decisions: list[Decision], *, evidence: bool = False) -> dict[str, list[dict[str, Any]]]:
    """``{"matched": [...], "suggested": [...], "unmatched": [...], "ignored": [...]}``."""
    out: dict[str, list] = {"matched": [], "suggested": [], "unmatched": [], "ignored": []}
    for d in decisions:
        if d.status in ("matched", "suggested"):
            c = d.candidate
            item = {"transaction": d.txn.id, "donations": [x.id for x in c.donations], "kind": c.kind, "rule": c.rule, "score": c.score}
            if evidence:
                item["evidence"] = c.evidence
                item["allocations"] = [format(a, "f") for a in c.allocations]
            out[d.status].append(item)
        else:
            out[d.status].append({"transaction": d.txn.id, "reason": d.reason})
    return out


def totals(decisions: list[Decision], settings: Settings | None = None) -> list[tuple[str, int, dict[str, Decimal]]]:
    """Per status: how many lines and how much money, by currency.

    A currency that was redenominated is totalled per epoch (:meth:`Settings.unit`): the lines
    booked before the change count in old units (``SYP before 2026-01-01``), apart from the new ones.
    """
    settings = settings or Settings(redenominations=())

    def unit(d: Decision) -> str:
        return settings.unit(d.txn.currency, d.txn.booking_date)

    rows = []
    for status in ("matched", "suggested", "unmatched", "ignored"):
        these = [d for d in decisions if d.status == status]
        money: dict[str, Decimal] = {}
        for d in these:
            money[unit(d)] = money.get(unit(d), Decimal(0)) + d.txn.amount
        rows.append((status, len(these), money))
    return rows


def write_report(path: Path, decisions: list[Decision], settings: Settings | None = None) -> int:
    """An .xlsx or .csv an accountant can open: a row per line, then the totals per status."""
    header = [
        "status",
        "transaction",
        "booking date",
        "amount",
        "currency",
        "direction",
        "payer",
        "payer account",
        "remittance",
        "donations",
        "kind",
        "rule",
        "score",
        "reason / evidence",
    ]
    rows = []
    for d in decisions:
        t, c = d.txn, d.candidate
        rows.append(
            [
                d.status,
                t.id,
                t.booking_date.isoformat(),
                format(t.amount, "f"),
                t.currency,
                t.direction,
                t.payer_name,
                t.payer_account,
                t.remittance,
                ", ".join(x.id for x in c.donations) if c else None,
                c.kind if c else None,
                c.rule if c else None,
                c.score if c else None,
                d.reason or (", ".join(f"{k}: {v}" for k, v in c.evidence.items()) if c else None),
            ]
        )
    rows.append([])
    rows.append(["totals"])
    for status, n, money in totals(decisions, settings):
        rows.append([status, n, None, "; ".join(f"{format(v, 'f')} {k}" for k, v in sorted(money.items()))])
    return write_table(path, header, rows, sheet="reconciliation")


def write_matches(path: Path, matches: list[dict[str, Any]]) -> int:
    """The decisions recorded in the store as an XLSX sheet (what the web admin downloads)."""
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("decisions")
    ws.append(["id", "status", "transaction", "donations", "kind", "rule", "score", "allocations", "decided_by", "decided_at"])
    for m in matches:
        ws.append(
            [
                xlsx_cell(v)
                for v in (
                    m["id"],
                    m["status"],
                    m["transaction"],
                    ", ".join(m["donations"]),
                    m["kind"],
                    m["rule"],
                    m["score"],
                    ", ".join(m["allocations"]),
                    m["decided_by"],
                    m["decided_at"],
                )
            ]
        )
    save_workbook(wb, path)
    return len(matches)
