"""Refusing a NUL character in a request's address or form: a 400 that says so, not a store error.

PostgreSQL cannot hold U+0000 in text, so ``?association=%00`` or a sign-in e-mail ending in
``%00`` reached the store and failed as a 500. No parameter or form field of the hub has a
use for it; JSON bodies are not looked at here, since their text is stored escaped and their
keys are checked against the common schema, which takes no control character in an identifier.
"""

from __future__ import annotations

from http import HTTPStatus

from starlette.responses import PlainTextResponse

from hub.api.problems import problem

__all__ = ["NoNul"]

_FORM = b"application/x-www-form-urlencoded"


def _has_nul(data: bytes) -> bool:
    return b"%00" in data or b"\x00" in data


_MAX_FORM = 1024 * 1024  # the web admin's largest form, a quarantined record being edited, is a few KB


class NoNul:
    """ASGI middleware: 400 for a NUL in the path, the query string or a web admin's form.

    Plain ASGI, like :class:`hub.web.headers.PageHeaders`. A page's URL-encoded form is read
    whole before the app sees it (Starlette reads it whole to parse it anyway), up to 1 MiB
    (413 beyond). Every other body streams on untouched: the API reads its own, with its own
    size limit, so a large body sent to it is never held here.
    """

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if "\x00" in scope["path"] or _has_nul(scope.get("query_string", b"")):
            await _refuse(scope, send, "the address")
            return
        ctype = dict(scope["headers"]).get(b"content-type", b"").split(b";")[0].strip().lower()
        if ctype != _FORM or scope["path"].startswith("/api/"):
            await self.app(scope, receive, send)
            return
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > _MAX_FORM:
                await _refuse(scope, send, "the form", status=413, detail=f"the form is over {_MAX_FORM:,} bytes")
                return
            more = message.get("more_body", False)
        body = b"".join(chunks)
        if _has_nul(body):
            await _refuse(scope, send, "the form")
            return
        sent = False

        async def replay():
            nonlocal sent
            if sent:
                return await receive()
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)


async def _refuse(scope, send, where: str, *, status: int = 400, detail: str | None = None) -> None:
    detail = detail or f"{where} holds a NUL character (%00), which no field of this hub takes"
    if scope["path"].startswith("/api/"):
        answer = problem(status, detail)  # the API's own problem document
    else:
        answer = PlainTextResponse(f"{HTTPStatus(status).phrase}: {detail}.", status_code=status)
    await answer(scope, None, send)
