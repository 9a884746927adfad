"""The web admin's quarantine: rows that failed, beside their errors, fixed and replayed or dismissed.

The correction sheet goes both ways here too: downloaded for an association to correct in
Excel, uploaded back and replayed cell by cell (hub.services.corrections).

An entry received over the API (stage ``api``) shows its raw record read-only: the sending
hub holds the record, fixes it and sends it again, so here it can only be dismissed.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from hub.errors import InputError
from hub.services import admin
from hub.services import quarantine as q_svc
from hub.services.corrections import read_corrections
from hub.web import i18n
from hub.web.session import check_csrf, current_user
from hub.web.views import ChosenRow, Csrf, RowId, back, page_lang, render

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


@router.get("/quarantine")
def quarantine_page(request: Request, connection: str = "", after: ChosenRow = None):
    """Open entries, oldest first, a page at a time, with how many wait in all (a page never passes for the whole)."""
    return _list_page(request, current_user(request), connection, after)


def _list_page(request: Request, user, connection: str, after: int | None, **said):
    hub = request.app.state.hub
    entries, total = admin.quarantine_list(hub, user, connection=connection or None, after=after)
    later = entries[-1]["id"] if len(entries) == admin.QUARANTINE_PAGE else None
    return render(
        request,
        "quarantine.html",
        user,
        entries=entries,
        total=total,
        later=f"/quarantine?{urlencode({'connection': connection, 'after': later})}" if later else None,
        connections=[c for c in admin.visible_connections(hub, user) if not c.startswith("job:")],
        connection=connection,
        **said,
    )


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SHEET_LIMIT = 20 * 1024 * 1024  # bytes: a correction sheet of some tens of thousands of rows


@router.get("/quarantine/corrections.xlsx")
def correction_sheet(request: Request, connection: str = ""):
    """The open entries the user may see, as the workbook an association corrects (hub quarantine export)."""
    user = current_user(request)
    hub = request.app.state.hub
    names = admin.visible_connections(hub, user)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "corrections.xlsx"
        q_svc.export(hub, path, connection=connection or None, lang=page_lang(request), connections=names)
        body = path.read_bytes()
    return Response(body, media_type=XLSX, headers={"Content-Disposition": "attachment; filename=corrections.xlsx"})


@router.post("/quarantine/corrections")
async def correction_upload(request: Request):
    """The corrected sheet back: each changed cell replayed as its entry's correction (hub quarantine import)."""
    user = current_user(request)
    form = await request.form(max_files=1, max_fields=5)
    check_csrf(user.csrf, form.get("csrf"))
    upload = form.get("sheet")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return _list_page(request, user, "", None, sheet_problem=i18n.translate("Choose the corrected sheet first.", page_lang(request)))
    suffix = Path(upload.filename).suffix.lower()
    data = await upload.read(SHEET_LIMIT + 1)
    problem = None
    if suffix not in (".xlsx", ".csv"):
        problem = f"{upload.filename}: " + i18n.translate(
            "upload the .xlsx or .csv file the correction sheet was saved as", page_lang(request)
        )
    elif len(data) > SHEET_LIMIT:
        problem = f"{upload.filename}: " + i18n.translate("the file is larger than a correction sheet can be (20 MB)", page_lang(request))
    if problem:
        return _list_page(request, user, "", None, sheet_problem=problem)
    hub = request.app.state.hub
    names = admin.visible_connections(hub, user)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"corrections{suffix}"
        path.write_bytes(data)
        try:
            result = await run_in_threadpool(lambda: read_corrections(hub, path, actor=user.actor, connections=names))
        except InputError as exc:  # named by the file the person chose, not where it was put to be read
            said = exc.message + (f" ({exc.hint})" if exc.hint else "")
            return _list_page(request, user, "", None, sheet_problem=said.replace(str(path), upload.filename))
    return _list_page(request, user, "", None, imported=result)


@router.get("/quarantine/{entry_id}")
def entry_page(request: Request, entry_id: RowId):
    user = current_user(request)
    entry = admin.quarantine_entry(request.app.state.hub, user, entry_id)
    return _entry(request, user, entry)


def _entry(request: Request, user, entry: dict, still: str | None = None):
    bad = {e["path"].split(".")[0] for e in entry["errors"]}
    return render(request, "entry.html", user, entry=entry, bad=bad, still=still, editable=q_svc.editable_text)


@router.post("/quarantine/{entry_id}/replay")
async def entry_replay(request: Request, entry_id: RowId):
    user = current_user(request)
    form = await request.form()
    check_csrf(user.csrf, form.get("csrf"))
    hub = request.app.state.hub
    entry = admin.quarantine_entry(hub, user, entry_id)
    raw = entry["raw"] if isinstance(entry["raw"], dict) else {}
    changes = {k[len("f:") :]: v for k, v in form.items() if k.startswith("f:") and q_svc.editable_text(raw.get(k[len("f:") :])) != v}
    result = await run_in_threadpool(lambda: q_svc.replay(hub, [entry_id], changes=changes or None, actor=user.actor))
    if result["replayed"]:
        return back("/quarantine", msg="resent" if result["replayed"][0].get("delivered_to") else "replayed")
    still = "; ".join(f"{e['path']}: {e['message']}" for s in result["still_invalid"] for e in s["errors"]) or "; ".join(
        s["reason"] for s in result["skipped"]
    )
    # The form again as the admin left it, with what is wrong with it now: edits are not
    # stored until the record passes, but they are not thrown away either.
    shown = admin.quarantine_entry(hub, user, entry_id)
    if changes and isinstance(shown["raw"], dict):
        shown["raw"] = {**shown["raw"], **changes}
    if result["still_invalid"]:
        shown["errors"] = result["still_invalid"][0]["errors"]
    return _entry(request, user, shown, still=still)


@router.post("/quarantine/{entry_id}/dismiss")
def entry_dismiss(request: Request, entry_id: RowId, csrf: Csrf = None, reason: Annotated[str, Form()] = ""):
    user = current_user(request)
    check_csrf(user.csrf, csrf)
    hub = request.app.state.hub
    admin.quarantine_entry(hub, user, entry_id)
    q_svc.dismiss(hub, [entry_id], reason=reason, actor=user.actor)
    return back("/quarantine", msg="dismissed")
