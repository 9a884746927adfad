"""Every text the web admin's pages pass to ``t()`` has its Arabic, so no page turns half English.

An untranslated text falls back to English in silence (hub.web.i18n.translate): a page added
without its Arabic, or a run status added without it, would show so to an Arabic reader.
"""

from __future__ import annotations

import re
from pathlib import Path

from hub.schema import load_schema
from hub.store.runs import STATUSES
from hub.web.i18n import AR

TEMPLATES = Path(__file__).resolve().parents[2] / "hub" / "web" / "templates"


def test_every_text_of_the_templates_has_its_arabic():
    texts = {
        (page.name, m[1])
        for page in TEMPLATES.glob("*.html")
        for m in re.finditer(r'(?<![\w.])t\("([^"]+)"\)', page.read_text(encoding="utf-8"))
    }
    assert len(texts) > 100, "the pattern finds the templates' texts"
    missing = sorted((page, text) for page, text in texts if text not in AR)
    assert not missing, f"no Arabic for: {missing}"


def test_every_run_status_has_its_arabic():
    assert [s for s in STATUSES if s not in AR] == []


def test_every_donation_status_and_channel_has_its_arabic():
    """The account page groups donations by these words of the common schema."""
    fields = load_schema("donation")["properties"]
    words = [*fields["status"]["enum"], *fields["channel"]["enum"]]
    assert len(words) >= 9 and [w for w in words if w not in AR] == []
