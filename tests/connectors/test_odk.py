"""The ``odk`` connector against a small ODK Central on 127.0.0.1: sessions, OData pages, edits."""

from __future__ import annotations

import json
import re
from datetime import datetime
from functools import partial

import pytest

from connectors.odk import OdkCentral
from hub import ConnectorError
from hub.sdk import ConnectorContext, Cursor
from hub.testing import Response, TestServer

EMAIL, PASSWORD = "field@amal.example", "pw-secret-4471"
DATA = "/v1/projects/7/forms/distribution.svc/Submissions"
_FILTER = re.compile(r"^(__system/\w+) ge (\S+)$")
_ORDER = re.compile(r"^(__system/\w+) asc$")


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value)


class FakeCentral:
    """What the connector uses of ODK Central: sessions, and one form's OData Submissions.

    ``$filter`` takes one ``__system/... ge TIME``; ``$orderby`` one ``__system/... asc``
    (nulls last, then oldest submission first, as Central orders its ties); without it,
    newest first, as Central answers. ``$expand=*`` puts the ``items`` repeat's entries inline.
    """

    def __init__(self, server: TestServer) -> None:
        self.subs: list[dict] = []
        self.items: dict[str, list[dict]] = {}  # a submission's entries in its "items" repeat, by __id
        self.sessions: set[str] = set()
        self.logins = 0
        self.before_page = lambda n: None  # a test's hook: called with the number of data pages asked so far
        self.pages = 0
        self.cap = 1_000_000  # the most rows a page gives, whatever $top asks
        server.route("POST", "/v1/sessions", self._log_in)
        server.route("GET", DATA, self._data)

    def _log_in(self, req) -> Response:
        body = req.json()
        if body != {"email": EMAIL, "password": PASSWORD}:
            return Response(401, {"code": 401.2, "message": "Could not authenticate with the provided credentials."})
        self.logins += 1
        token = f"session-{self.logins}"
        self.sessions.add(token)
        return Response(200, {"token": token, "expiresAt": "2026-12-03T08:00:00.000Z", "createdAt": "2026-12-02T08:00:00.000Z"})

    def _data(self, req) -> Response:
        if req.headers.get("Authorization", "").removeprefix("Bearer ") not in self.sessions:
            return Response(401, {"code": 401.2, "message": "Could not authenticate with the provided credentials."})
        self.pages += 1
        self.before_page(self.pages)
        rows = [s for s in self.subs]
        if req.arg("$filter"):
            field, since = _FILTER.match(req.arg("$filter")).groups()
            name = field.split("/")[1]
            rows = [s for s in rows if s["__system"][name] is not None and _at(s["__system"][name]) >= _at(since)]
        position = {id(s): n for n, s in enumerate(self.subs)}
        if req.arg("$orderby"):
            name = _ORDER.match(req.arg("$orderby")).group(1).split("/")[1]
            rows.sort(key=lambda s: (s["__system"][name] is None, s["__system"][name] and _at(s["__system"][name]), position[id(s)]))
        else:
            rows.reverse()
        skip, top = int(req.arg("$skip", "0")), min(int(req.arg("$top", "1000000")), self.cap)
        body = {
            "@odata.context": f"http://central{DATA}/$metadata#Submissions",
            "value": [json.loads(json.dumps(s)) for s in rows[skip : skip + top]],
        }
        if req.arg("$expand") == "*":
            for s in body["value"]:
                del s["items@odata.navigationLink"]
                s["items"] = [
                    {**entry, "__id": f"{s['__id']}-items-{n}", "__Submissions-id": s["__id"]}
                    for n, entry in enumerate(self.items.get(s["__id"], []))
                ]
        if skip + top < len(rows):
            body["@odata.nextLink"] = f"http://central{DATA}?$skiptoken=opaque"  # Central's own paging, which the connector does not need
        if req.arg("$count") == "true":
            body["@odata.count"] = len(rows)
        return Response(200, body)

    def add(self, i: int, households: int, at: str | None = None) -> dict:
        sub = {
            "__id": f"uuid:{i:04d}",
            "meta": {"instanceID": f"uuid:{i:04d}", "instanceName": f"توزيع {i}"},
            "distribution": {"item": "سلة غذائية", "households": households},
            "place": {"governorate": "حلب", "location": "POINT (37.1 36.2 410)"},
            "items@odata.navigationLink": f"Submissions('uuid:{i:04d}')/items",
            "__system": {
                "submissionDate": at or f"2026-10-{i:02d}T08:00:00.000Z",
                "updatedAt": None,
                "submitterId": "5",
                "submitterName": "فريق حلب",
                "attachmentsPresent": 0,
                "attachmentsExpected": 0,
                "status": None,
                "reviewState": None,
                "deviceId": "collect:x1",
                "edits": 0,
                "formVersion": "2026.1",
            },
        }
        self.subs.append(sub)
        return sub

    def edit(self, i: int, at: str, **changes) -> None:
        sub = next(s for s in self.subs if s["__id"] == f"uuid:{i:04d}")
        sub["distribution"].update(changes.pop("distribution", {}))
        sub["__system"].update(updatedAt=at, **changes)
        sub["meta"]["instanceID"] = f"uuid:{i:04d}-v{sub['__system']['edits'] + 2}"
        sub["__system"]["edits"] += 1


MAPPING = {
    "id": "__id",
    "association_id": {"const": "A1"},
    "sector": {"const": "food_security"},
    "item": "distribution/item",
    "households": {"column": "distribution/households", "type": "integer"},
    "governorate": {"column": "place/governorate", "type": "governorate"},
    "distributed_at": {"column": "__system/submissionDate", "type": "datetime"},
}


def settings_for(server, **more) -> dict:
    return {"url": server.url, "project": 7, "form": "distribution", "email": EMAIL, "password": PASSWORD, "retries": 0, **more}


def _refuse(server, path: str, code: float, message: str) -> None:
    """Central answering GET ``path`` with its error body: ``{"code": 404.1, "message": ...}``, status the code's whole part."""
    server.route("GET", path, lambda req: Response(int(code), {"code": code, "message": message}))


ENV = {"ODK_PASSWORD": PASSWORD}


def _odk_hub(folder, server, *, settings: str = "page_size: 2", stream: str = "", mapping: dict = MAPPING) -> None:
    """A hub.yaml whose connection ``field`` reads the test form into distributions, the password from the environment."""
    folder.write(
        "hub.yaml",
        "store: sqlite:///hub.db\nconnections:\n  field:\n    connector: odk\n"
        f"    settings: {{url: '{server.url}', project: 7, form: distribution, email: {EMAIL}, password: '${{ODK_PASSWORD}}',"
        f" retries: 0, {settings}}}\n"
        "    streams:\n      submissions:\n        entity: distribution\n        keep_unmapped: false\n"
        + stream
        + "        mapping:\n"
        + "".join(f"          {k}: {json.dumps(v, ensure_ascii=False)}\n" for k, v in mapping.items()),
    )


def _run_field(folder) -> dict:
    r = folder.hub("run", "field", "--json", env=ENV)
    assert r.code == 0, r.err
    assert PASSWORD not in r.out + r.err
    return json.loads(r.out)["runs"][0]


def _read(server, cursor: Cursor, **settings) -> list[dict]:
    conn = OdkCentral(settings_for(server, **settings), ConnectorContext(connection="field", base_dir="."))
    try:
        return [row.data for row in conn.streams()[0].read(cursor)]
    finally:
        conn.close()


def test_a_submission_is_read_as_columns_under_its_lasting_id(tmp_path):
    with TestServer() as server:
        central = FakeCentral(server)
        central.add(1, 12)
        central.edit(1, "2026-10-02T09:30:00.000Z", distribution={"households": 14})
        cursor = Cursor(None)
        rows = _read(server, cursor)
    first = rows[0]
    assert first["__id"] == "uuid:0001", "an edit gives a new instanceID, never a new __id"
    assert first["distribution/households"] == 14 and first["distribution/item"] == "سلة غذائية", "groups as paths, Arabic as written"
    assert first["place/location"] == "POINT (37.1 36.2 410)" and first["meta/instanceName"] == "توزيع 1"
    assert first["__system/submitterName"] == "فريق حلب" and first["__system/updatedAt"] == "2026-10-02T09:30:00.000Z"
    assert not any(k.endswith("navigationLink") or k in ("meta/instanceID", "__system/deviceId") for k in first)
    assert len(rows) == 2, "read once as sent since the cursor and once as edited since it (found unchanged)"
    assert cursor.value == {"submitted": "2026-10-01T08:00:00.000Z", "updated": "2026-10-02T09:30:00.000Z"}
    asked = [r.query for r in server.requests if r.path == DATA]
    assert asked[0]["$orderby"] == ["__system/submissionDate asc"] and "$filter" not in asked[0]
    assert asked[1]["$filter"] == ["__system/updatedAt ge 1970-01-01T00:00:00.000Z"], "never-edited submissions are not read twice"
    assert all(r.headers.get("Authorization") == "Bearer session-1" for r in server.requests if r.path == DATA)


def test_edits_and_reviews_made_in_central_arrive_on_the_next_run(folder):
    with TestServer() as server:
        central = FakeCentral(server)
        for i in (1, 2, 3):
            central.add(i, 3 * i)
        _odk_hub(folder, server, stream="        skip:\n          - {column: __system/reviewState, equals: rejected}\n")
        run = partial(_run_field, folder)

        def households(i: int) -> int:
            [(data,)] = folder.sql("select data from records where key = ?", (f"A1|uuid:{i:04d}",))
            return json.loads(data)["households"]

        checked = folder.hub("check", "field", env=ENV)
        assert checked.code == 0 and "form distribution of project 7: 3 submission(s)" in checked.out, checked.out + checked.err
        assert run()["inserted"] == 3

        # In Central: one corrected, one rejected by a reviewer, one new. Central stamps the edit
        # and the review with updatedAt; the submissions keep their submissionDate.
        central.edit(2, "2026-11-02T10:00:00.000Z", distribution={"households": 40})
        central.edit(3, "2026-11-02T11:00:00.000Z", reviewState="rejected")
        central.add(4, 7, at="2026-11-01T08:00:00.000Z")
        second = run()
        # Read: 3 again (the lookback) and 4 as sent; 2 and 3 as edited. The rejected one is
        # skipped by the stream's rule each time it is read, never stored as a new version.
        assert (second["read"], second["inserted"], second["updated"], second["skipped"]) == (4, 1, 1, 2), second
        assert households(2) == 40

        # The next run asks from the lookback before each time (two minutes), and finds nothing new.
        third = run()
        assert (third["inserted"], third["updated"]) == (0, 0), third
        [state] = json.loads(folder.hub("state", "show", "field", "--json", env=ENV).out)
        assert state["cursor"] == {"submitted": "2026-11-01T08:00:00.000Z", "updated": "2026-11-02T11:00:00.000Z"}
        filters = [r.arg("$filter") for r in server.requests if r.path == DATA][-2:]
        assert filters == ["__system/submissionDate ge 2026-11-01T07:58:00.000Z", "__system/updatedAt ge 2026-11-02T10:58:00.000Z"]


def test_a_submission_edited_during_the_read_does_not_shift_the_pages(tmp_path):
    # Read oldest edit first, two a page. After the first page, the first submission is edited
    # again and moves to the end: "$skip=2" would now step over the third.
    with TestServer() as server:
        central = FakeCentral(server)
        for i in range(1, 6):
            central.add(i, i)
            central.edit(i, f"2026-11-0{i}T08:00:00.000Z")
        cursor_value = {"submitted": "2026-10-05T08:00:00.000Z", "updated": "2026-10-31T00:00:00.000Z"}
        edited_at = {}

        def edit_between_pages(page: int) -> None:
            if page == 3 and not edited_at:  # page 1: the sent pass; page 2: the first page of edits
                central.edit(1, "2026-11-09T08:00:00.000Z", distribution={"households": 100})
                edited_at[1] = True

        central.before_page = edit_between_pages
        rows = _read(server, Cursor(cursor_value), page_size=2, lookback_seconds=0)
    edited = [r["__id"] for r in rows if r["__system/updatedAt"]]
    assert sorted(set(edited)) == [f"uuid:000{i}" for i in range(1, 6)], f"a submission was stepped over: {edited}"
    assert rows[-1]["__id"] == "uuid:0001" and rows[-1]["distribution/households"] == 100, "the new edit is read too"


def test_a_session_that_lapses_during_a_run_is_opened_again(tmp_path):
    with TestServer() as server:
        central = FakeCentral(server)
        for i in range(1, 6):
            central.add(i, i)

        def lapse(page: int) -> None:
            if page == 2:
                central.sessions.clear()  # Central's session ended between two pages

        central.before_page = lapse
        rows = _read(server, Cursor(None), page_size=2)
    assert [r["__id"] for r in rows] == [f"uuid:000{i}" for i in range(1, 6)]
    assert central.logins == 2


def test_central_refusals_say_what_to_fix_and_never_the_password(tmp_path):
    with TestServer() as server:
        central = FakeCentral(server)
        central.add(1, 1)
        with pytest.raises(ConnectorError) as wrong_password:
            _read(server, Cursor(None), password="not-it-secret")
        _refuse(server, DATA.replace("distribution", "distributon"), 404.1, "Could not find the resource you were looking for.")
        with pytest.raises(ConnectorError) as wrong_form:
            _read(server, Cursor(None), form="distributon")
        _refuse(server, DATA, 403.1, "The authenticated actor does not have rights to perform that action.")
        with pytest.raises(ConnectorError) as no_right:
            _read(server, Cursor(None))
    said = str(wrong_password.value)
    assert f"refused the log-in of '{EMAIL}' (401): Could not authenticate" in said and "email and password" in said
    assert "not-it-secret" not in said
    said = str(wrong_form.value)
    assert "has no form 'distributon' of project 7" in said and "(404: Could not find the resource" in said, said
    said = str(no_right.value)
    assert f"the user '{EMAIL}' may not read the submissions of form 'distribution' of project 7" in said and "Project Viewer" in said
    assert "does not have rights" in said


def test_a_central_too_old_to_sort_is_named(tmp_path):
    with TestServer() as server:
        FakeCentral(server)
        _refuse(server, DATA, 501.1, "The requested feature $orderby is not supported by this server.")
        with pytest.raises(ConnectorError) as old:
            _read(server, Cursor(None))
    assert "answered 501" in str(old.value) and "came in ODK Central v2024.1" in str(old.value)


def test_a_server_that_gives_fewer_rows_a_page_than_asked_is_read_to_the_end(tmp_path):
    with TestServer() as server:
        central = FakeCentral(server)
        for i in range(1, 8):
            central.add(i, i)
        central.cap = 3  # a proxy's limit: 3 a page, though 5 are asked for
        rows = _read(server, Cursor(None), page_size=5)
    assert [r["__id"] for r in rows] == [f"uuid:000{i}" for i in range(1, 8)]


def test_a_repeat_gives_one_row_per_entry_beside_the_submissions_columns(tmp_path, caplog):
    with TestServer() as server:
        central = FakeCentral(server)
        central.add(1, 12)
        central.items["uuid:0001"] = [
            {"item": "طحين", "quantity": 2, "packing": {"unit": "كيس"}, "sizes@odata.navigationLink": "x"},
            {"item": "زيت", "quantity": 1, "packing": {"unit": "عبوة"}, "sizes": [{"size": "1L"}]},
        ]
        central.add(2, 5)  # sent with no entry: nothing handed out
        cursor = Cursor(None)
        with caplog.at_level("WARNING", logger="hub.connector"):
            rows = _read(server, cursor, repeat="items")
    assert [(r["__id"], r["items/_index"], r["items/item"], r["items/packing/unit"]) for r in rows] == [
        ("uuid:0001", 1, "طحين", "كيس"),
        ("uuid:0001", 2, "زيت", "عبوة"),
    ]
    first = rows[0]
    assert first["distribution/households"] == 12 and first["place/governorate"] == "حلب", "the submission's columns on each entry"
    assert first["items/__id"] == "uuid:0001-items-0" and first["items/quantity"] == 2
    assert not any(k == "items" or "__Submissions" in k or "sizes" in k for r in rows for k in r), "no lists, no links back"
    assert cursor.value == {"submitted": "2026-10-02T08:00:00.000Z", "updated": None}, "the cursor moves by submissions"
    assert all(r.arg("$expand") == "*" for r in server.requests if r.path == DATA)
    assert "1 submission(s) had no entry in 'items'" in caplog.text


def test_each_entry_of_a_repeat_is_a_distribution_and_an_edit_to_one_changes_only_it(folder):
    with TestServer() as server:
        central = FakeCentral(server)
        central.add(1, 12)
        central.items["uuid:0001"] = [{"item": "طحين", "quantity": 2}, {"item": "زيت", "quantity": 1}]
        central.add(2, 5)
        central.items["uuid:0002"] = [{"item": "طحين", "quantity": 4}]
        mapping = {
            **MAPPING,
            "id": {"columns": ["__id", "items/_index"], "join": "#"},
            "item": "items/item",
            "quantity": {"column": "items/quantity", "type": "decimal"},
        }
        _odk_hub(folder, server, settings="repeat: items", mapping=mapping)
        run = partial(_run_field, folder)

        def stored() -> dict:
            return {
                key: (json.loads(data)["item"], json.loads(data)["quantity"]) for key, data in folder.sql("select key, data from records")
            }

        assert run()["inserted"] == 3
        assert stored() == {"A1|uuid:0001#1": ("طحين", "2"), "A1|uuid:0001#2": ("زيت", "1"), "A1|uuid:0002#1": ("طحين", "4")}
        central.items["uuid:0001"][1]["quantity"] = 3  # corrected in Central: one entry of one submission
        central.edit(1, "2026-11-02T10:00:00.000Z")
        second = run()
        assert (second["inserted"], second["updated"]) == (0, 1), second
        assert stored()["A1|uuid:0001#2"] == ("زيت", "3")

        # A setting that names a field, not a repeat, stops the run in words.
        folder.write(
            "hub.yaml", (folder.path / "hub.yaml").read_text(encoding="utf-8").replace("repeat: items", "repeat: place/governorate")
        )
        failed = folder.hub("run", "field", env=ENV)
        assert failed.code != 0 and "Traceback" not in failed.err
        assert "has 'place/governorate' as a str, not a repeat group's entries" in failed.out + failed.err


def test_a_submission_deleted_in_central_is_named_after_every_submission_is_read_again(folder):
    # Central names no deletion; the reading of every submission, every reread_every_hours, meets
    # all those it still has, so the records of the others are named (never deleted).
    with TestServer() as server:
        central = FakeCentral(server)
        for i in (1, 2, 3):
            central.add(i, 3 * i)
        _odk_hub(folder, server, stream="        report_deleted: true\n")
        refused = folder.hub("run", "field", env=ENV)
        assert refused.code == 2 and "reread_every_hours" in refused.err, "incremental reads cannot tell what went"

        _odk_hub(folder, server, settings="page_size: 2, reread_every_hours: 24", stream="        report_deleted: true\n")
        run = partial(_run_field, folder)
        assert run()["flags"] == [], "the first run reads every submission"
        central.subs = [s for s in central.subs if s["__id"] != "uuid:0002"]  # deleted in Central
        assert run()["flags"] == [], "an incremental run meets only what is new: it names nothing"
        [state] = json.loads(folder.hub("state", "show", "field", "--json", env=ENV).out)
        assert (
            folder.hub("state", "set", "field", json.dumps({**state["cursor"], "reread_at": "2026-01-01T00:00:00+00:00"}), env=ENV).code
            == 0
        )
        [flag] = run()["flags"]
        assert flag.startswith("submissions: 1 record(s) stored before are no longer in the source: A1|uuid:0002."), flag
        assert folder.sql("select count(*) from records") == [(3,)], "named, not deleted"
        [state] = json.loads(folder.hub("state", "show", "field", "--json", env=ENV).out)
        assert state["cursor"]["reread_at"] > "2026-01-01" and state["cursor"]["submitted"] == "2026-10-03T08:00:00.000Z"
