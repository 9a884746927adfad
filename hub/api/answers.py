"""How the API's routes answer: pre-serialised JSON, and the problem answers an operation documents."""

from __future__ import annotations

import orjson
from starlette.responses import Response

from hub.api.models import Problem

__all__ = ["csv_answer", "json_answer", "problem_answers", "xml_answer"]


def json_answer(body: dict, status: int = 200, headers: dict | None = None) -> Response:
    """``body`` as JSON by orjson (Decimal-free, Arabic as written), without FastAPI's re-validation."""
    return Response(orjson.dumps(body), status_code=status, media_type="application/json", headers=headers)


def csv_answer(text: str, filename: str, headers: dict | None = None, *, bom: bool = False) -> Response:
    """CSV text as a download, UTF-8 (the charset said, so a browser does not guess).

    ``bom``: begin with the byte-order mark, for a person who opens it in Excel, which reads
    Arabic as mojibake without it; a program reading the API has no use for it.
    """
    return Response(
        text.encode("utf-8-sig" if bom else "utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"', **(headers or {})},
    )


def xml_answer(body: bytes, filename: str, headers: dict | None = None) -> Response:
    """An XML document (its own declaration says UTF-8) under the file name it is saved as."""
    return Response(
        body,
        media_type="application/xml",
        headers={"Content-Disposition": f'attachment; filename="{filename}"', **(headers or {})},
    )


def problem_answers(*codes: int) -> dict:
    """The problem answers of an operation; every one may be a 400 (a NUL in its address: hub.api.nulguard)."""
    return {c: {"model": Problem, "content": {"application/problem+json": {}}} for c in sorted({400, *codes})}
