"""Accounts: an IBAN is checked where its country has them; any other value is a local number.

Syria has no IBANs, but donors abroad pay from German, Turkish or Swedish ones. A donor's IBAN
typed with one character wrong would be stored as fact and would never match the bank line it
should, since matching by a verified account needs the exact account. A value with the exact
shape of an IBAN of a country that uses them (its two letters, two check digits, and that
country's length) has its check digits verified (``schwifty``); they catch a mistyped or a
swapped character. A value of any other shape, ``SY-AMAL-0012345678`` or ``0101-223344``, is
taken as the local account number it is.

This is the schema's ``format: account`` (see ``$defs/account``), checked with every record
(hub.validation). Where a record says the value *is* an IBAN (an association's bank account
with ``scheme: iban``), it is held to that: a value of another length or shape is refused
too, not taken for a local number (:func:`declared_iban_problem`).
"""

from __future__ import annotations

import re
from functools import lru_cache

__all__ = ["account_problem", "declared_iban_problem"]

_IBAN_SHAPE = re.compile(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{8,30}")


@lru_cache(maxsize=256)
def _iban_length(country: str) -> int | None:
    # schwifty is imported on the first value shaped like an IBAN: its 50 ms are not paid by
    # every run, most of which carry no IBAN at all.
    from schwifty.exceptions import InvalidCountryCode
    from schwifty.registry import get_iban_spec

    try:
        return get_iban_spec(country).iban_length
    except (InvalidCountryCode, KeyError):
        return None


@lru_cache(maxsize=4096)
def account_problem(value: str) -> str | None:
    """Why ``value`` cannot be the IBAN it looks like, in words; None when it is fine."""
    if not _IBAN_SHAPE.fullmatch(value) or _iban_length(value[:2]) != len(value):
        return None
    from schwifty import IBAN
    from schwifty.exceptions import InvalidChecksumDigits, InvalidStructure, SchwiftyException

    try:
        # The ISO 13616 check digits only: national check-digit rules are not all known to
        # the library, and a valid account refused would be worse than a typo let through.
        IBAN(value)
    except InvalidChecksumDigits:
        return f"{value} has the form of a {value[:2]} IBAN but its check digits do not add up: a character is mistyped or two are swapped"
    except InvalidStructure:
        return f"{value} has the length of a {value[:2]} IBAN but not its structure (letters and digits in their places)"
    except SchwiftyException as exc:
        return f"{value} is not a valid IBAN: {exc}"
    return None


@lru_cache(maxsize=1024)
def declared_iban_problem(value: str) -> str | None:
    """Why ``value``, which its record declares an IBAN, is not one; None when it is."""
    if not _IBAN_SHAPE.fullmatch(value):
        return f"{value} is declared an IBAN (scheme iban) but is not one: two letters of a country, two check digits, then the account"
    length = _iban_length(value[:2])
    if length is None:
        return f"{value} is declared an IBAN (scheme iban) but {value[:2]} has no IBANs; give its scheme as local"
    if length != len(value):
        return f"{value} is declared an IBAN (scheme iban) but has {len(value)} characters; a {value[:2]} IBAN has {length}: one is missing or extra"
    return account_problem(value)
