"""The allowed value a person most likely meant, for an error to suggest.

"'SYR' is not one of 153 currencies" leaves the reader to find SYP; "did you mean 'SYP'?"
does not. Used where a value must be one of a list: the schema's enums, connector names,
mapping types, config settings. Only a confident guess is given: the same but for case, the
one value it begins, or the one or two values nearest in spelling (sharing the longest start,
then the closest by difflib's ratio, at least 0.6). Many values as near as each other give
no guess at all.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Callable, Iterable
from functools import lru_cache

__all__ = ["did_you_mean", "nearest"]


_LONGEST = 64  # a longer value is no mistyped code or name, and comparing it costs its length


def nearest(value: str, options: Iterable) -> tuple[str, ...]:
    """The option(s) ``value`` was most likely meant to be; () when none is a confident guess."""
    if len(value) > _LONGEST:
        return ()  # nor is it kept in the cache: a request may send thousands, each 100,000 characters
    return _nearest(value, tuple(options))


def did_you_mean(value: object, options: Iterable, quote: Callable[[str], str] = repr) -> str:
    """``"; did you mean 'x'?"`` to end an error with, or "" when there is no confident guess (or ``value`` is not text)."""
    near = nearest(value, options) if isinstance(value, str) else ()
    return f"; did you mean {' or '.join(map(quote, near))}?" if near else ""


@lru_cache(maxsize=4096)  # an export repeats its wrong value on every row
def _nearest(value: str, options: tuple) -> tuple[str, ...]:
    folded = value.strip().casefold()
    words = [o for o in options if isinstance(o, str)]
    if not folded:
        return ()
    for word in words:
        if word.casefold() == folded:
            return (word,)
    begun = [w for w in words if len(folded) >= 3 and w.casefold().startswith(folded)]
    if len(begun) == 1:
        return (begun[0],)
    scored = []
    for word in words:
        f = word.casefold()
        ratio = difflib.SequenceMatcher(None, folded, f).ratio()
        if ratio >= 0.6:
            scored.append((len(os.path.commonprefix([folded, f])), ratio, word))
    if not scored:
        return ()
    scored.sort(key=lambda x: (x[0], x[1]), reverse=True)
    best = [w for p, r, w in scored if (p, r) == scored[0][:2]]
    return tuple(best) if len(best) <= 2 else ()
