"""Secrets: ``${NAME}`` in the config, resolved through the hook, and kept out of every output.

Every resolved value is remembered by :data:`redactor`; the CLI and the logs pass what they
print through :meth:`Redactor.redact`, so a secret that an error message happens to contain
(a URL with a password, a token in a partner's echo) comes out as ``***``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

from hub.errors import ConfigError

__all__ = ["Redactor", "redactor", "substitute"]

_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class Redactor:
    """Remembers secret values and masks them in text."""

    def __init__(self) -> None:
        self._values: set[str] = set()

    def add(self, value: str) -> None:
        """Treat ``value`` as secret from now on (values under 4 characters are too common to mask)."""
        if value and len(value) >= 4:
            self._values.add(value)

    def redact(self, text: str) -> str:
        """``text`` with every known secret replaced by ``***``."""
        for v in sorted(self._values, key=len, reverse=True):
            if v in text:
                text = text.replace(v, "***")
        return text


redactor = Redactor()


class RedactingFilter(logging.Filter):
    """A logging filter that masks secrets in every record's message."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redactor.redact(record.getMessage())
        record.args = ()
        return True


def substitute(value: Any, resolve: Callable[[str], str | None], where: str) -> Any:
    """Replace ``${NAME}`` in every string of ``value``; ConfigError names the key and the secret."""
    if isinstance(value, str):

        def one(m: re.Match) -> str:
            got = resolve(m.group(1))
            if got is None:
                raise ConfigError(
                    f"{where}: secret ${{{m.group(1)}}} is not set",
                    hint=f"export {m.group(1)}=... in the hub's environment, or configure a secret resolver plugin",
                )
            redactor.add(got)
            return got

        return _REF.sub(one, value)
    if isinstance(value, dict):
        return {k: substitute(v, resolve, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, list):
        return [substitute(v, resolve, f"{where}[{i}]") for i, v in enumerate(value)]
    return value
