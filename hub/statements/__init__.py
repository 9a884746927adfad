"""Bank statements into ``bank_transaction`` records: ISO 20022 camt.05x and SWIFT MT940.

``read_statement(path)`` sniffs the format, parses with entities, DTDs and network access
off, and returns a :class:`Statement`: its transactions in common-schema shape, and whether
its balances add up (opening + credits - debits = closing), a check worth making before
matching because a missing or doubled line shows there first.
"""

from __future__ import annotations

from pathlib import Path

from hub.errors import InputError
from hub.readers.filekind import binary_kind
from hub.statements.model import Fingerprints, Statement

__all__ = ["Fingerprints", "Statement", "read_statement", "sniff"]


def sniff(path: Path) -> str:
    """``camt`` or ``mt940``, from the file's first bytes."""
    try:
        head = path.read_bytes()[:4096]
    except OSError as exc:
        raise InputError(f"{path}: cannot read the statement ({exc.strerror})") from None
    kind = binary_kind(head)
    if kind is not None:
        raise kind.refused(path, "not a bank statement")
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text.startswith(b"<"):
        return "camt"
    if b":20:" in head or b":25:" in head or text.startswith(b"{1:"):
        return "mt940"
    raise InputError(
        f"{path}: not a statement this hub reads",
        hint="camt.053/camt.054/camt.052 XML or SWIFT MT940 are read; bank CSV goes through the csv connector",
    )


def read_statement(path: Path, fmt: str = "auto", encoding: str = "auto") -> list[Statement]:
    """Every statement in the file (a camt file or an MT940 file may hold several).

    ``encoding`` is for MT940 files (XML declares its own): see hub.statements.mt940_file.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    kind = sniff(path) if fmt == "auto" else fmt
    if kind == "camt":
        from hub.statements.camt import parse_camt

        return parse_camt(path)
    if kind == "mt940":
        from hub.statements.mt940_file import parse_mt940

        return parse_mt940(path, encoding)
    raise InputError(f"{path}: unknown statement format {fmt!r}", hint="auto, camt or mt940")
