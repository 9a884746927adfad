"""ISO 20022 camt.053 / camt.054 / camt.052, versions .001.02 to .001.12, by local element name.

One transaction per ``NtryDtls/TxDtls``; an entry without details is one transaction. The
amount is the detail's ``Amt``, else ``AmtDtls/TxAmt/Amt``, else the entry's ``Amt`` (never a
descendant search, which could find ``InstdAmt`` in the original currency). For a credit the
counterparty is the debtor (``Dbtr``, ``UltmtDbtr``; v08 wraps names as ``Pty/Nm``); for a
debit, the creditor. The file is parsed with DTDs and entities forbidden.
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from hub.errors import InputError
from hub.statements.model import Fingerprints, Statement
from hub.text.numbers import NotPlain, plain_decimal, plain_number

__all__ = ["parse_camt"]

_CONTAINERS = {"BkToCstmrStmt": "Stmt", "BkToCstmrDbtCdtNtfctn": "Ntfctn", "BkToCstmrAcctRpt": "Rpt"}
_SPACES = re.compile(r"\s+")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _by_local_names(root: Element) -> None:
    """Name every element by its local name, once, so that lookups are ElementTree's own (in C).

    A statement's elements are looked up by local name whatever the camt version's namespace;
    comparing every child's name by hand in Python was most of the time a statement took.
    """
    for el in root.iter():
        if isinstance(el.tag, str):  # not a comment or processing instruction
            el.tag = _local(el.tag)


def _kids(el: Element | None, name: str) -> list[Element]:
    return [] if el is None else el.findall(name)


def _at(el: Element | None, *path: str) -> Element | None:
    for name in path:
        if el is None:
            return None
        el = el.find(name)
    return el


def _text(el: Element | None, *path: str) -> str | None:
    node = _at(el, *path)
    if node is None or node.text is None:
        return None
    t = _SPACES.sub(" ", node.text).strip()
    return t or None


def _number(el: Element, where: str, read=plain_decimal):
    """An ``Amt`` element's value (``read``: as a Decimal, or as text); ISO 20022 writes digits and a point, nothing else is read."""
    text = el.text.strip()
    try:
        return read(text)
    except NotPlain as exc:
        raise InputError(f"{where}: amount {text!r} {exc}") from None


def _amount(el: Element | None, where: str) -> tuple[str, str] | None:
    if el is None or el.text is None:
        return None
    return _number(el, where, plain_number).lstrip("-"), el.get("Ccy") or ""


def _date(el: Element | None) -> str | None:
    t = _text(el, "Dt") or _text(el, "DtTm")
    return t[:10] if t else None


def _status(entry: Element) -> str:
    raw = _text(entry, "Sts", "Cd") or _text(entry, "Sts") or "BOOK"
    return {"BOOK": "booked", "PDNG": "pending", "INFO": "pending"}.get(raw.upper(), "pending")


def _party(parent: Element | None, role: str) -> str | None:
    return _text(parent, role, "Pty", "Nm") or _text(parent, role, "Nm")


def _account(acct: Element | None) -> str | None:
    v = _text(acct, "Id", "IBAN") or _text(acct, "Id", "Othr", "Id")
    return re.sub(r"\s+", "", v).upper() if v else None


def _balance(stmt: Element, codes: tuple[str, ...], where: str) -> Decimal | None:
    for bal in _kids(stmt, "Bal"):
        code = _text(bal, "Tp", "CdOrPrtry", "Cd")
        if code in codes:
            amt = _at(bal, "Amt")
            if amt is None or amt.text is None:
                return None
            value = _number(amt, f"{where} balance {code}")
            return -value if _text(bal, "CdtDbtInd") == "DBIT" else value
    return None


def parse_camt(path: Path) -> list[Statement]:
    """Parse a camt file into statements; InputError names the file and what is wrong."""
    try:
        root = SafeET.parse(str(path), forbid_dtd=True, forbid_entities=True, forbid_external=True).getroot()
    except DefusedXmlException as exc:
        raise InputError(
            f"{path}: refused: the XML declares a DTD or entities ({type(exc).__name__})",
            hint="bank statements never need them; a file that has them is malformed or hostile",
        ) from None
    except ParseError as exc:
        raise InputError(f"{path}: not well-formed XML ({exc})") from None
    _by_local_names(root)
    if root.tag != "Document":
        raise InputError(f"{path}: not an ISO 20022 document (root element {root.tag!r})")
    body = next(iter(root), None)
    kind = body.tag if body is not None else None
    if kind not in _CONTAINERS:
        raise InputError(
            f"{path}: not a camt.052/053/054 document ({kind or 'empty'})",
            hint="expected BkToCstmrStmt, BkToCstmrDbtCdtNtfctn or BkToCstmrAcctRpt",
        )
    statements = []
    ids = Fingerprints()
    for n, stmt in enumerate(_kids(body, _CONTAINERS[kind]), start=1):
        sid = _text(stmt, "Id") or f"{path.name}#{n}"
        account = _account(_at(stmt, "Acct"))
        if not account:
            raise InputError(f"{path}: statement {sid} has no account (Acct/Id/IBAN or Acct/Id/Othr/Id)")
        st = Statement(
            id=sid,
            account=account,
            currency=_text(stmt, "Acct", "Ccy"),
            source=str(path),
            opening=_balance(stmt, ("OPBD", "PRCD"), f"{path} statement {sid}"),
            closing=_balance(stmt, ("CLBD",), f"{path} statement {sid}"),
        )
        for e_no, entry in enumerate(_kids(stmt, "Ntry"), start=1):
            st.transactions.extend(_entry_transactions(path, st, entry, e_no, ids))
        statements.append(st)
    return statements


def _entry_transactions(path: Path, st: Statement, entry: Element, e_no: int, ids: Fingerprints) -> list[dict]:
    where = f"{path} statement {st.id} entry {e_no}"
    entry_amount = _amount(_at(entry, "Amt"), where)
    if entry_amount is None:
        raise InputError(f"{where}: the entry has no Amt")
    entry_dir = _text(entry, "CdtDbtInd")
    if entry_dir not in ("CRDT", "DBIT"):
        raise InputError(f"{where}: CdtDbtInd is {entry_dir!r}, not CRDT or DBIT")
    entry_ref = _text(entry, "AcctSvcrRef")
    base = {
        "account": st.account,
        "booking_date": _date(_at(entry, "BookgDt")),
        "value_date": _date(_at(entry, "ValDt")),
        "status": _status(entry),
        "reversal": (_text(entry, "RvslInd") or "").lower() == "true",
        "statement_id": st.id,
    }
    if not base["booking_date"]:
        base["booking_date"] = base["value_date"]
    if not base["booking_date"]:
        raise InputError(f"{where}: the entry has neither BookgDt nor ValDt")
    code = _text(entry, "BkTxCd", "Prtry", "Cd") or "/".join(
        x
        for x in (
            _text(entry, "BkTxCd", "Domn", "Cd"),
            _text(entry, "BkTxCd", "Domn", "Fmly", "Cd"),
            _text(entry, "BkTxCd", "Domn", "Fmly", "SubFmlyCd"),
        )
        if x
    )
    if code:
        base["bank_code"] = code
    details = [tx for d in _kids(entry, "NtryDtls") for tx in _kids(d, "TxDtls")]
    out = []
    for t_no, tx in enumerate(details or [None], start=1):
        amount = (_amount(_at(tx, "Amt"), where) or _amount(_at(tx, "AmtDtls", "TxAmt", "Amt"), where)) if tx is not None else None
        if amount is None:
            amount = entry_amount
        direction = (_text(tx, "CdtDbtInd") if tx is not None else None) or entry_dir
        rec = dict(base)
        rec["amount"], rec["currency"] = amount[0], amount[1] or st.currency or ""
        rec["direction"] = "credit" if direction == "CRDT" else "debit"
        ref = (_text(tx, "Refs", "AcctSvcrRef") if tx is not None else None) or (
            entry_ref if len(details) <= 1 else (f"{entry_ref}/{t_no}" if entry_ref else None)
        )
        if tx is not None:
            parties = _at(tx, "RltdPties")
            role, ultimate, acct = ("Dbtr", "UltmtDbtr", "DbtrAcct") if rec["direction"] == "credit" else ("Cdtr", "UltmtCdtr", "CdtrAcct")
            name = _party(parties, role) or _party(parties, ultimate)
            cp = {k: v for k, v in (("name", name), ("account", _account(_at(parties, acct)))) if v}
            if cp:
                rec["counterparty"] = cp
            e2e = _text(tx, "Refs", "EndToEndId")
            if e2e and e2e.upper() != "NOTPROVIDED":
                rec["end_to_end_id"] = e2e
            lines = [t for u in _kids(_at(tx, "RmtInf"), "Ustrd") if (t := _SPACES.sub(" ", u.text or "").strip())]
            if lines:
                rec["remittance"] = " ".join(lines)
            cref = next((r for s in _kids(_at(tx, "RmtInf"), "Strd") if (r := _text(s, "CdtrRefInf", "Ref"))), None)
            if cref:
                rec["creditor_reference"] = cref
        if not rec.get("remittance") and _text(entry, "AddtlNtryInf"):
            rec["remittance"] = _text(entry, "AddtlNtryInf")
        rec["id"] = ref or ids(st.account, rec["booking_date"], rec["value_date"], rec["amount"], rec["direction"], rec.get("remittance"))
        out.append(rec)
    return out
