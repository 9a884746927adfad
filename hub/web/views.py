"""The web admin's core: rendering, sign-in, the overview, connections and runs, and the wiring.

The other pages live beside it (quarantine, reconciliation, records, tokens), each a router
that renders through :func:`render`. Thin: each page reads or acts through a service.

Every POST carries the session's CSRF token; every page that names an id looks it up through
the user's scope (:mod:`hub.services.admin`), so another association's run, entry or match is
"not found" whatever the URL says.
"""

from __future__ import annotations

import logging
import time
from datetime import date
from pathlib import Path
from typing import Annotated
from urllib.parse import quote, urlencode

from fastapi import APIRouter, FastAPI, Form, Query, Request
from fastapi import Path as FastApiPath
from fastapi.exceptions import RequestValidationError
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.concurrency import run_in_threadpool
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse

from hub.errors import CheckFailed, ConfigError, HubError, NotFoundError
from hub.services import admin, users
from hub.services.tokens import Principal
from hub.store.types import MAX_ROW_ID
from hub.web import i18n
from hub.web.charts import activity_chart
from hub.web.session import COOKIE, LANG_COOKIE, LOGIN_COOKIE, BadForm, NeedsLogin, check_csrf, current_user, new_login_token, set_cookie

__all__ = ["After", "ChosenRow", "Csrf", "RowId", "as_principal", "back", "form_day", "install", "page_lang", "render"]

log = logging.getLogger("hub.web")
HERE = Path(__file__).parent
router = APIRouter(include_in_schema=False)
_env = Environment(
    loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True
)
_env.policies["json.dumps_kwargs"] = {"ensure_ascii": False, "sort_keys": True}  # |tojson keeps Arabic as written
Csrf = Annotated[str | None, Form()]
# Row ids and page cursors in addresses, bounded as the store's 64-bit ids are: a longer number
# typed into the address bar is a page that does not exist, not a database overflow.
RowId = Annotated[int, FastApiPath(ge=1, le=MAX_ROW_ID)]
After = Annotated[int, Query(ge=0, le=MAX_ROW_ID)]
ChosenRow = Annotated[int | None, Query(ge=1, le=MAX_ROW_ID)]

MESSAGES = {
    "ran": "Run requested; it starts within seconds.",
    "busy": "It is running now; the run going on reads what a new one would. Nothing was requested.",
    "saved": "Schedule saved.",
    "paused": "Schedule paused.",
    "resumed": "Schedule resumed.",
    "replayed": "Stored: the record passed after the fix.",
    "resent": "Sent: the destination took the record.",
    "dismissed": "Dismissed.",
    "confirmed": "Confirmed.",
    "rejected": "Rejected.",
    "revoked": "Token revoked: it is refused from the next request on.",
}


def page_lang(request: Request) -> str:
    """The page's language: the visitor's choice (its cookie), else what the browser asks for."""
    lang = request.cookies.get(LANG_COOKIE)
    if lang in i18n.LANGS:
        return lang
    return "ar" if request.headers.get("accept-language", "").lower().startswith("ar") else "en"


def render(request: Request, template: str, user: users.User | None = None, http_status: int = 200, **context) -> HTMLResponse:
    """A page in the request's language, with the helpers every template uses."""
    lang = page_lang(request)
    hub = request.app.state.hub
    page = _env.get_template(template).render(
        request=request,
        user=user,
        lang=lang,
        dir="rtl" if lang == "ar" else "ltr",
        t=lambda s: i18n.translate(s, lang),
        num=lambda v: i18n.fmt_number(v, lang),
        when=lambda v: i18n.fmt_datetime(v, lang, hub.config.timezone),
        cron=lambda e: i18n.describe_cron(e, lang) if e else "",
        message=i18n.translate(MESSAGES[m], lang) if (m := request.query_params.get("msg")) in MESSAGES else None,
        **context,
    )
    return HTMLResponse(page, status_code=http_status)


def back(path: str, **params) -> RedirectResponse:
    """A 303 to ``path`` (after a form), with a message or filters as query parameters."""
    return RedirectResponse(path + (("?" + urlencode(params)) if params else ""), status_code=303)


def form_day(value: str) -> date | None:
    """A filter form's date field (``YYYY-MM-DD``, what ``<input type=date>`` sends); empty or not a date: no filter."""
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def as_principal(user: users.User) -> Principal:
    """The user as a read-only API principal, so pages read records through the API's scope rules."""
    return Principal(0, user.email, user.association_id, can_read=True, can_write=False)


# ---- signing in and out, language ------------------------------------------------------


class _Failures:
    """Failed sign-ins per (e-mail, address): after five in ten minutes, wait ten minutes.

    Kept in the process: enough to stop guessing through one server; a fleet behind a load
    balancer would also rate-limit at its proxy.
    """

    LIMIT, WINDOW = 5, 600.0

    def __init__(self) -> None:
        self.seen: dict[tuple[str, str], list[float]] = {}

    def _recent(self, who) -> list[float]:
        now = time.monotonic()
        recent = [t for t in self.seen.get(who, []) if now - t < self.WINDOW]
        self.seen[who] = recent
        return recent

    def blocked(self, who) -> bool:
        return len(self._recent(who)) >= self.LIMIT

    def add(self, who) -> None:
        self._recent(who).append(time.monotonic())


_failures = _Failures()


def _local(path: str) -> str:
    """``path`` if it stays on this site, else ``/``: a sign-in link must not lead elsewhere."""
    return path if path.startswith("/") and not path.startswith("//") else "/"


def _login_page(request: Request, http_status: int = 200, **context) -> HTMLResponse:
    """The sign-in form, with a fresh token for its CSRF check (in the page and in a cookie)."""
    token = new_login_token()
    page = render(request, "login.html", login_token=token, http_status=http_status, **context)
    set_cookie(request, page, LOGIN_COOKIE, token, max_age=3600)
    return page


@router.get("/login")
def login_form(request: Request, next: str = "/") -> HTMLResponse:
    return _login_page(request, next=_local(next), failed=False)


@router.post("/login")
async def login(
    request: Request, email: Annotated[str, Form()], password: Annotated[str, Form()], csrf: Csrf = None, next: Annotated[str, Form()] = "/"
):
    check_csrf(request.cookies.get(LOGIN_COOKIE, ""), csrf)
    hub = request.app.state.hub
    who = (email.strip().lower(), request.client.host if request.client else "")
    if _failures.blocked(who):
        return _login_page(request, 429, next=next, throttled=True, email=email)
    user = await run_in_threadpool(users.authenticate, hub, email, password)
    if user is None:
        _failures.add(who)
        return _login_page(request, 401, next=next, failed=True, email=email)
    response = back(_local(next))
    set_cookie(request, response, COOKIE, users.open_session(hub, user), max_age=users.SESSION_HOURS * 3600)
    response.delete_cookie(LOGIN_COOKIE, path="/")
    return response


@router.post("/logout")
def logout(request: Request, csrf: Csrf = None):
    user = current_user(request)
    check_csrf(user.csrf, csrf)
    users.close_session(request.app.state.hub, request.cookies.get(COOKIE))
    response = back("/login")
    response.delete_cookie(COOKIE, path="/")
    return response


@router.get("/lang/{lang}")
def switch_language(request: Request, lang: str, next: str = "/"):
    response = back(_local(next))
    if lang in i18n.LANGS:
        set_cookie(request, response, LANG_COOKIE, lang, max_age=365 * 86400)
    return response


# ---- overview and connections ----------------------------------------------------------


@router.get("/")
def overview(request: Request):
    user = current_user(request)
    hub = request.app.state.hub
    rows = admin.connection_rows(hub, user)
    activity = admin.daily_activity(hub, user)
    lang = page_lang(request)
    chart = activity_chart(
        activity, lang, stored_label=i18n.translate("records stored", lang), failed_label=i18n.translate("failures", lang)
    )
    return render(request, "overview.html", user, rows=rows, chart=chart)


@router.get("/connections/{name}")
def connection_page(request: Request, name: str, checked: str | None = None, problem: str | None = None, trials: list | None = None):
    user = current_user(request)
    hub = request.app.state.hub
    admin.check_connection(hub, user, name)
    row = next(r for r in admin.connection_rows(hub, user) if r["name"] == name)
    cfg = hub.config.connections[name]
    from hub.scheduling.overrides import overrides

    schedule = overrides(hub).get(name, cfg.schedule) or {}
    return render(
        request,
        "connection.html",
        user,
        row=row,
        settings=_masked(cfg.settings),
        streams=cfg.streams,
        destinations=cfg.destinations,
        transforms=cfg.transforms,
        schedule_cron=schedule.get("cron", ""),
        runs=admin.runs_list(hub, user, connection=name, limit=10),
        checked=checked,
        problem=problem,
        trials=trials or [],
    )


_SECRET_WORDS = ("token", "password", "secret", "key", "value", "credential")


def _masked(settings, key: str = ""):
    """Settings as configured: ``${NAME}`` references stay as written; secret-looking literals are masked.

    A literal under a key that names a secret (token, password, secret, key, an auth header's
    value) is never shown, nor the user and password inside a database URL.
    """
    if isinstance(settings, dict):
        return {k: _masked(v, k) for k, v in settings.items()}
    if isinstance(settings, list):
        return [_masked(v, key) for v in settings]
    if not isinstance(settings, str) or "${" in settings:
        return settings
    if any(w in key.lower() for w in _SECRET_WORDS):
        return "••••••"
    if "://" in settings and "@" in settings.split("://", 1)[1].split("/", 1)[0]:
        return settings.split("://", 1)[0] + "://••••••@" + settings.split("://", 1)[1].split("@", 1)[1]
    return settings


@router.post("/connections/{name}/check")
async def connection_check(request: Request, name: str, csrf: Csrf = None):
    user = current_user(request)
    check_csrf(user.csrf, csrf)
    hub = request.app.state.hub
    admin.check_connection(hub, user, name)

    def check() -> tuple[dict | None, str | None]:
        from hub.services.checking import check_connection

        try:
            return check_connection(hub, name), None
        except (CheckFailed, ConfigError, HubError) as exc:
            return None, str(exc)

    found, problem = await run_in_threadpool(check)
    trials = [s["trial"] for s in found["streams"] if "trial" in s] if found else []
    return connection_page(request, name, checked=found["detail"] if found else None, problem=problem, trials=trials)


@router.post("/connections/{name}/{action}")
def connection_action(request: Request, name: str, action: str, csrf: Csrf = None, cron: Annotated[str | None, Form()] = None):
    user = current_user(request)
    check_csrf(user.csrf, csrf)
    hub = request.app.state.hub
    admin.check_connection(hub, user, name)
    from hub.scheduling.commands import issue

    if action == "run":
        return back(f"/connections/{name}", msg="ran" if admin.request_run(hub, user, name) is not None else "busy")
    if action in ("pause", "resume"):
        issue(hub, name, action, actor=user.actor)
        return back(f"/connections/{name}", msg="paused" if action == "pause" else "resumed")
    if action == "schedule":
        from hub.scheduling.overrides import set_schedule

        try:
            set_schedule(hub, name, {"cron": cron.strip()} if cron and cron.strip() else None, actor=user.actor)
        except ConfigError as exc:
            return connection_page(request, name, problem=str(exc))
        return back(f"/connections/{name}", msg="saved")
    raise NotFoundError(f"no action {action!r}")


@router.get("/describe")
def describe(request: Request, cron: str = ""):
    current_user(request)
    from hub.scheduling.triggers import parse_schedule

    try:
        parse_schedule("web", {"cron": cron}, request.app.state.hub.config.timezone)
    except ConfigError as exc:
        return JSONResponse({"ok": False, "text": exc.message.split(": ", 1)[-1]})
    return JSONResponse({"ok": True, "text": i18n.describe_cron(cron, page_lang(request))})


# ---- runs --------------------------------------------------------------------------------


@router.get("/runs")
def runs_page(request: Request, connection: str = "", status: str = ""):
    user = current_user(request)
    hub = request.app.state.hub
    return render(
        request,
        "runs.html",
        user,
        runs=admin.runs_list(hub, user, connection=connection or None, status=status or None),
        connections=admin.visible_connections(hub, user),
        connection=connection,
        status=status,
    )


@router.get("/runs/{run_id}")
def run_page(request: Request, run_id: RowId):
    user = current_user(request)
    return render(request, "run.html", user, run=admin.run_for(request.app.state.hub, user, run_id))


@router.get("/runs/{run_id}/live")
def run_live(request: Request, run_id: RowId):
    user = current_user(request)
    return render(request, "run_body.html", user, run=admin.run_for(request.app.state.hub, user, run_id))


# ---- wiring ------------------------------------------------------------------------------


def _page_not_found(request: Request) -> HTMLResponse:
    """The one "not found" page: a page that does not exist and one not the user's read alike."""
    lang = page_lang(request)
    return render(
        request,
        "error.html",
        None,
        http_status=404,
        title=i18n.translate("Not found", lang),
        text=i18n.translate("This page does not exist, or it is not yours to see.", lang),
    )


def install(app: FastAPI) -> None:
    """Add the pages, the static files and the error pages to ``app``."""
    from hub.web.account_page import router as account_router
    from hub.web.audit_page import router as audit_router
    from hub.web.headers import PageHeaders
    from hub.web.quarantine_pages import router as quarantine_router
    from hub.web.reconcile_pages import router as reconcile_router
    from hub.web.records_page import router as records_router
    from hub.web.tokens_page import router as tokens_router

    for pages in (router, quarantine_router, reconcile_router, records_router, account_router, tokens_router, audit_router):
        app.include_router(pages)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    @app.exception_handler(NeedsLogin)
    async def _login(request: Request, _exc):
        return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)

    @app.exception_handler(BadForm)
    async def _bad_form(request: Request, _exc):
        lang = page_lang(request)
        return render(
            request, "error.html", None, http_status=403, title="403", text=i18n.translate("The form expired; please try again.", lang)
        )

    previous = app.exception_handlers.get(NotFoundError)

    @app.exception_handler(NotFoundError)
    async def _not_found(request: Request, exc):
        if request.url.path.startswith("/api/") and previous is not None:
            return await previous(request, exc)
        return _page_not_found(request)

    api_invalid = app.exception_handlers.get(RequestValidationError)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError):
        if _api(request) and api_invalid is not None:
            return await api_invalid(request, exc)
        if any(e.get("loc", ("",))[0] == "path" for e in exc.errors()):  # /runs/abc: no such page
            return _page_not_found(request)
        names = ", ".join(sorted({str(e.get("loc", ("", "?"))[-1]) for e in exc.errors()}))
        return render(request, "error.html", None, http_status=400, title="400", text=f"{names}: {exc.errors()[0].get('msg', '')}")

    def _api(request: Request) -> bool:
        return request.url.path.startswith("/api/") or request.url.path in ("/healthz", "/readyz", "/metrics", "/openapi.json")

    api_hub_error, api_bug = app.exception_handlers.get(HubError), app.exception_handlers.get(Exception)

    @app.exception_handler(HubError)
    async def _hub_error(request: Request, exc: HubError):
        if _api(request) and api_hub_error is not None:
            return await api_hub_error(request, exc)
        return render(request, "error.html", None, http_status=400, title="400", text=str(exc))

    @app.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception):
        if _api(request) and api_bug is not None:
            return await api_bug(request, exc)
        log.exception("internal error on %s", request.url.path)
        return render(
            request,
            "error.html",
            None,
            http_status=500,
            title="500",
            text=f"internal error ({type(exc).__name__}); the hub's log has the details",
        )

    app.add_middleware(PageHeaders)
