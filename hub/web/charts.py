"""A bar chart of records stored and failures per day, as inline SVG drawn on the server.

No chart library and no script: 31 days of two numbers are a few dozen rectangles, and the
page stays readable with scripts off. Bars run right to left on Arabic pages, and days and
counts are written in the page's digits.
"""

from __future__ import annotations

from html import escape

from hub.web.i18n import fmt_date, fmt_number

__all__ = ["activity_chart"]


def activity_chart(days: list[dict], lang: str, *, stored_label: str, failed_label: str, width: int = 720, height: int = 160) -> str:
    """SVG markup: per day a bar of records stored and, beside it, a bar of failures."""
    top = max([d["stored"] for d in days] + [d["failures"] for d in days] + [1])
    slot = width / max(len(days), 1)
    bar = max(slot / 2 - 1, 1)
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height + 20}" role="img" aria-label="{escape(stored_label)} / {escape(failed_label)}">',
    ]
    for i, d in enumerate(days):
        x = (len(days) - 1 - i) * slot if lang == "ar" else i * slot
        for j, (value, cls, label) in enumerate(((d["stored"], "stored", stored_label), (d["failures"], "failed", failed_label))):
            h = 0 if not value else max(2.0, value / top * height)
            parts.append(
                f'<rect class="{cls}" x="{x + j * bar:.1f}" y="{height - h:.1f}" width="{bar:.1f}" height="{h:.1f}">'
                f"<title>{escape(fmt_date(d['day'], lang))}: {fmt_number(value, lang)} {escape(label)}</title></rect>"
            )
    parts.append(f'<line x1="0" y1="{height}" x2="{width}" y2="{height}" class="axis"/>')
    first, last = (fmt_date(days[0]["day"], lang), fmt_date(days[-1]["day"], lang)) if days else ("", "")
    left, right = (last, first) if lang == "ar" else (first, last)
    parts.append(f'<text x="0" y="{height + 15}" class="label">{escape(left)}</text>')
    parts.append(f'<text x="{width}" y="{height + 15}" class="label" text-anchor="end">{escape(right)}</text>')
    parts.append("</svg>")
    return "".join(parts)
