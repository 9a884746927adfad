"""Statements written for the tests: camt.053 (v02 style), camt.054 (v08 style) and MT940."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Line:
    ref: str | None
    amount: str
    ccy: str = "USD"
    direction: str = "CRDT"
    booked: str = "2026-10-10"
    status: str = "BOOK"
    name: str | None = None
    iban: str | None = None
    other_account: str | None = None
    ustrd: list[str] = field(default_factory=list)
    cref: str | None = None
    e2e: str | None = None
    reversal: bool = False


def _party(line: Line, v08: bool) -> str:
    role, acct = ("Dbtr", "DbtrAcct") if line.direction == "CRDT" else ("Cdtr", "CdtrAcct")
    out = ""
    if line.name:
        out += f"<{role}><Pty><Nm>{line.name}</Nm></Pty></{role}>" if v08 else f"<{role}><Nm>{line.name}</Nm></{role}>"
    if line.iban:
        out += f"<{acct}><Id><IBAN>{line.iban}</IBAN></Id></{acct}>"
    elif line.other_account:
        out += f"<{acct}><Id><Othr><Id>{line.other_account}</Id></Othr></Id></{acct}>"
    return f"<RltdPties>{out}</RltdPties>" if out else ""


def _tx(line: Line, v08: bool, with_amount: bool = True) -> str:
    refs = ""
    if line.ref or line.e2e:
        refs = (
            "<Refs>"
            + (f"<AcctSvcrRef>{line.ref}</AcctSvcrRef>" if line.ref else "")
            + f"<EndToEndId>{line.e2e or 'NOTPROVIDED'}</EndToEndId></Refs>"
        )
    rmt = "".join(f"<Ustrd>{u}</Ustrd>" for u in line.ustrd)
    if line.cref:
        rmt += f"<Strd><CdtrRefInf><Ref>{line.cref}</Ref></CdtrRefInf></Strd>"
    amt = f'<Amt Ccy="{line.ccy}">{line.amount}</Amt>' if with_amount else ""
    return f"<TxDtls>{refs}{amt}{_party(line, v08)}" + (f"<RmtInf>{rmt}</RmtInf>" if rmt else "") + "</TxDtls>"


def entry(line: Line, v08: bool) -> str:
    sts = f"<Sts><Cd>{line.status}</Cd></Sts>" if v08 else f"<Sts>{line.status}</Sts>"
    rvsl = "<RvslInd>true</RvslInd>" if line.reversal else ""
    return (
        f'<Ntry><Amt Ccy="{line.ccy}">{line.amount}</Amt><CdtDbtInd>{line.direction}</CdtDbtInd>{rvsl}{sts}'
        f"<BookgDt><Dt>{line.booked}</Dt></BookgDt><ValDt><Dt>{line.booked}</Dt></ValDt>"
        f"<NtryDtls>{_tx(line, v08)}</NtryDtls></Ntry>"
    )


def camt053(
    lines: list[Line], account: str = "SY0012345678", opening: str | None = None, closing: str | None = None, extra_entries: str = ""
) -> str:
    bal = ""
    if opening is not None:
        bal += f'<Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy="USD">{opening}</Amt><CdtDbtInd>CRDT</CdtDbtInd></Bal>'
    if closing is not None:
        bal += f'<Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy="USD">{closing}</Amt><CdtDbtInd>CRDT</CdtDbtInd></Bal>'
    entries = "".join(entry(x, v08=False) for x in lines) + extra_entries
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt>'
        "<GrpHdr><MsgId>M1</MsgId><CreDtTm>2026-10-31T18:00:00</CreDtTm></GrpHdr>"
        f"<Stmt><Id>STMT-OCT</Id><Acct><Id><Othr><Id>{account}</Id></Othr></Id><Ccy>USD</Ccy></Acct>{bal}{entries}</Stmt>"
        "</BkToCstmrStmt></Document>"
    )


def camt054(lines: list[Line], account: str = "SY0012345678") -> str:
    entries = "".join(entry(x, v08=True) for x in lines)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.08"><BkToCstmrDbtCdtNtfctn>'
        "<GrpHdr><MsgId>N1</MsgId><CreDtTm>2026-10-31T18:00:00</CreDtTm></GrpHdr>"
        f"<Ntfctn><Id>NTF-1</Id><Acct><Id><Othr><Id>{account}</Id></Othr></Id></Acct>{entries}</Ntfctn>"
        "</BkToCstmrDbtCdtNtfctn></Document>"
    )


def batch_entry() -> str:
    """One booked entry of 300 EUR carrying three transfers; the last has only AmtDtls and an InstdAmt in USD."""
    return (
        '<Ntry><Amt Ccy="EUR">300.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts>'
        "<BookgDt><Dt>2026-10-12</Dt></BookgDt><ValDt><Dt>2026-10-12</Dt></ValDt><AcctSvcrRef>BATCH-9</AcctSvcrRef>"
        "<NtryDtls>"
        '<TxDtls><Refs><AcctSvcrRef>B9-1</AcctSvcrRef></Refs><Amt Ccy="EUR">100.00</Amt>'
        "<RltdPties><Dbtr><Nm>Lina Khoury</Nm></Dbtr><DbtrAcct><Id><IBAN>SE4550000000058398257466</IBAN></Id></DbtrAcct></RltdPties>"
        "<RmtInf><Ustrd>AMAL-2001</Ustrd></RmtInf></TxDtls>"
        '<TxDtls><Refs><AcctSvcrRef>B9-2</AcctSvcrRef></Refs><Amt Ccy="EUR">120.00</Amt><RltdPties><UltmtDbtr><Nm>Hassan Family</Nm></UltmtDbtr></RltdPties></TxDtls>'
        "<TxDtls><Refs><AcctSvcrRef>B9-3</AcctSvcrRef></Refs>"
        '<AmtDtls><InstdAmt><Amt Ccy="USD">95.00</Amt></InstdAmt><TxAmt><Amt Ccy="EUR">80.00</Amt></TxAmt></AmtDtls>'
        "<RmtInf><Ustrd>part one</Ustrd><Ustrd>part two</Ustrd></RmtInf></TxDtls>"
        "</NtryDtls></Ntry>"
    )


def mt940(
    lines: list[tuple[str, str, str]],
    account: str = "SY0012345678",
    opening: str = "0,00",
    closing: str = "0,00",
    reference: str = "MT-OCT",
    opened: str = "261001",
) -> str:
    """``lines`` are (:61: body, :86: body, ...) pairs; ``reference`` is the :20:, ``opened`` the opening balance's YYMMDD."""
    body = "".join(f":61:{a}\n:86:{b}\n" for a, b in lines)
    return f":20:{reference}\n:25:{account}\n:28C:00010/001\n:60F:C{opened}USD{opening}\n{body}:62F:C261031USD{closing}\n-\n"
