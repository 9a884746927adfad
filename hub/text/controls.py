r"""Control characters written out, for text from outside that people will read.

A partner's error body or a CSV cell may carry an ESC (which a terminal acts on) or a NUL
(which PostgreSQL cannot store in text). Where such text becomes a message, each control
character is written as ``\xNN`` instead; tab and line feed stay, they are layout.
"""

from __future__ import annotations

import re

__all__ = ["escape_controls"]

# C0 controls but tab and line feed, DEL and the C1 controls.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def escape_controls(text: str) -> str:
    r"""``text`` with each control character written as ``\xNN`` (ESC as ``\x1b``)."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)
