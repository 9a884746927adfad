"""SWIFT MT940 (and MT942) through the ``mt-940`` package, which knows the banks' ``:86:`` dialects.

A ``:61:`` line's bank reference (after ``//``) is its id; a line without one gets a
fingerprint of what it says (model.Fingerprints). Its reference for the account owner (before
``//``), unless ``NONREF``, is the payer's end-to-end reference when ``:86:`` gives no ``EREF+``. ``RC``/``RD`` mark reversals. The
SWIFT character set has no Arabic: names arrive transliterated, and matching folds them.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import mt940

from hub.errors import InputError
from hub.statements.model import Fingerprints, Statement
from hub.text.legacy import FILE_CUT_SHORT, cut_short, mostly_utf8, single_byte_encoding

__all__ = ["parse_mt940"]

# The parser logs a 20-line regular-expression dump at ERROR for each field it cannot read,
# onto the admin's terminal; the InputError below says the same in words.
logging.getLogger("mt940").setLevel(logging.CRITICAL)

_NO_REFERENCE = {"NONREF", "NOTPROVIDED"}  # what banks write in a reference field that holds none
_BLOCK_START = re.compile(r"^:20:", re.MULTILINE)
_LINE_AMOUNT = re.compile(r":61:(\d{6})(\d{4})?[Rr]?[CDcd][A-Za-z]?([\d,]+)")
_BALANCE_DATE = re.compile(r":(6[0245][FM]?):[CDcd](\d{6})")
_FORMS = {
    "61": "a :61: line reads value date YYMMDD, [entry date MMDD], C or D (RC/RD for a reversal), "
    "the amount with a decimal comma, the type and reference: :61:2610101010C100,00NTRFNONREF//B1",
    "60": "a balance reads C or D, date YYMMDD, currency and amount: :60F:C261001SYP0,00",
    "62": "a balance reads C or D, date YYMMDD, currency and amount: :62F:C261031SYP100,00",
    "64": "a balance reads C or D, date YYMMDD, currency and amount: :64:C261031SYP100,00",
    "28": "the statement number reads :28C:1/1",
}


def _clean(v) -> str | None:
    if v is None:
        return None
    t = re.sub(r"\s+", " ", str(v)).strip()
    return t or None


def parse_mt940(path: Path, encoding: str = "auto") -> list[Statement]:
    """Parse an MT940 file into statements, one per ``:20:`` block.

    A bank's file often holds several statements: one a day, or one per account. The parser
    reads a file as one statement whose header each new block overwrites, which put every
    line under the last block's account; so each block is parsed on its own.

    SWIFT's own character set is ASCII, but banks' exports carry names and remittance text in
    their code page. ``auto`` takes UTF-8, else Windows-1256 or -1252 as the bytes show
    (hub.text.legacy): read as Western, an Arabic name came out as ``ÓÇãí`` and matched nobody.
    """
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from None
    text = _decoded(path, raw, encoding)
    starts = [m.start() for m in _BLOCK_START.finditer(text)] or [0]
    blocks = [text[a:b] for a, b in zip(starts, starts[1:] + [len(text)], strict=True)]
    ids = Fingerprints()
    return [
        _statement(path, block, n if len(blocks) > 1 else None, _line_of(text, at), ids)
        for n, (block, at) in enumerate(zip(blocks, starts, strict=True), start=1)
    ]


def _decoded(path: Path, raw: bytes, encoding: str) -> str:
    if encoding != "auto":
        try:
            return raw.decode(encoding)
        except LookupError:
            raise InputError(f"{path}: unknown encoding {encoding!r}", hint="auto, utf-8, windows-1256 or windows-1252") from None
        except UnicodeDecodeError as exc:
            line = raw[: exc.start].count(b"\n") + 1
            raise InputError(f"{path} line {line}: the file is not valid {encoding}", hint="set encoding: auto") from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        if not mostly_utf8(raw):
            return raw.decode(single_byte_encoding(raw), errors="replace")
        # UTF-8 with a few bad bytes: read as a code page, every name in it would be nonsense.
        line = raw[: exc.start].count(b"\n") + 1
        if cut_short(exc):
            raise InputError(
                f"{path} line {line}: {FILE_CUT_SHORT}",
                hint="an interrupted copy or download? ask the bank's export again",
            ) from None
        raise InputError(
            f"{path} line {line}: the file is UTF-8 but this line is not (a line from another file?)",
            hint="correct the line, or save the whole file as UTF-8 again",
        ) from None


def _line_of(text: str, at: int) -> int:
    return text.count("\n", 0, at) + 1


def _check_lines(path: Path, block: str, first_line: int) -> None:
    """What the parser gets wrong or cannot place, found first and named with its line.

    A ``:61:`` amount longer than MT940's 15 characters was cut to its first 15 by the parser;
    a date that does not exist (``261332``) failed with "month must be in 1..12" and no line.
    """
    for n, line in enumerate(block.splitlines()):
        where = f"{path} line {first_line + n}"
        m = _LINE_AMOUNT.match(line)
        if m:
            value_date, entry_date, amount = m.groups()
            if len(amount) > 15:
                raise InputError(
                    f"{where}: the :61: amount {amount[:20]}... has {len(amount)} characters; MT940 allows 15",
                    hint="the file is malformed: ask the bank for it again",
                )
            _check_date(where, ":61: value date", value_date, "YYMMDD")
            if entry_date:
                _check_date(where, ":61: entry date", "00" + entry_date, "MMDD")  # 2000 is a leap year: 29 Feb passes
            continue
        b = _BALANCE_DATE.match(line)
        if b:
            _check_date(where, f":{b.group(1)}: balance date", b.group(2), "YYMMDD")


def _check_date(where: str, what: str, text: str, form: str) -> None:
    try:
        datetime.strptime(text, "%y%m%d")
    except ValueError:
        shown = text[2:] if form == "MMDD" else text
        raise InputError(f"{where}: the {what} {shown} is not a date ({form})") from None


def _unreadable(path: Path, block: str, first_line: int, exc: Exception) -> InputError:
    """The parser's failure in words: which field, on which line, in what form it should be."""
    if isinstance(exc, RuntimeError) and len(exc.args) == 3 and isinstance(exc.args[2], str):
        tag, value = exc.args[1], exc.args[2]
        tag_id = str(getattr(tag, "id", "?"))
        head = value.splitlines()[0] if value else ""
        n = next((i for i, line in enumerate(block.splitlines()) if head and line.startswith(f":{tag_id}") and head in line), None)
        where = f"{path} line {first_line + n}" if n is not None else str(path)
        return InputError(f"{where}: the :{tag_id}: field {value!r} is not in MT940 form", hint=_FORMS.get(tag_id[:2]))
    return InputError(f"{path}: not a readable MT940 statement ({type(exc).__name__}: {exc})")


def _statement(path: Path, text: str, number: int | None, first_line: int, ids: Fingerprints) -> Statement:
    """One ``:20:`` block as a statement; ``number`` is its place in a file of several, ``ids`` the file's fingerprints."""
    _check_lines(path, text, first_line)
    try:
        options = mt940.options.Options(applicant_iban=True, case_insensitive_marks=True)
        details = {"post_transaction_details": [mt940.processors.transaction_details_post_processor_with_space]}
        parsed = mt940.models.Transactions(processors=details, options=options)
        parsed.parse(text)
    except Exception as exc:  # noqa: BLE001 - the parser raises many kinds on malformed input
        raise _unreadable(path, text, first_line, exc) from None
    account = _clean(parsed.data.get("account_identification"))
    if not account:
        raise InputError(
            f"{path}{f' statement {number}' if number else ''}: no :25: account line", hint="an MT940 statement starts with :20: and :25:"
        )
    account = re.sub(r"\s+", "", account).upper()
    opening = parsed.data.get("final_opening_balance") or parsed.data.get("intermediate_opening_balance")
    closing = parsed.data.get("final_closing_balance") or parsed.data.get("intermediate_closing_balance")
    st = Statement(
        id=_clean(parsed.data.get("transaction_reference")) or (f"{path.name}#{number}" if number else path.name),
        account=account,
        currency=getattr(getattr(opening, "amount", None), "currency", None),
        opening=Decimal(str(opening.amount.amount)) if opening is not None else None,
        closing=Decimal(str(closing.amount.amount)) if closing is not None else None,
        source=str(path),
    )
    if not parsed.transactions and ":61:" in text:
        raise InputError(f"{path} statement {st.id}: the :61: lines could not be read")
    for n, tx in enumerate(parsed.transactions, start=1):
        d = tx.data
        status = (d.get("status") or "").upper()
        if status not in ("C", "D", "RC", "RD"):
            raise InputError(f"{path} statement {st.id}, :61: line {n}: debit/credit mark {status!r} is not C, D, RC or RD")
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
        # The payer's reference: SEPA's EREF+ in :86:, else the :61: reference for the account
        # owner, where banks put it for a credit (often the pledge's payment reference).
        payer_ref = eref.group(1) if eref else _clean(d.get("customer_reference"))
        if payer_ref and payer_ref.upper() not in _NO_REFERENCE:
            rec["end_to_end_id"] = payer_ref
        ref = _clean(d.get("bank_reference"))
        rec["id"] = ref or ids(account, rec["booking_date"], rec["value_date"], rec["amount"], status, remittance)
        st.transactions.append(rec)
    return st
