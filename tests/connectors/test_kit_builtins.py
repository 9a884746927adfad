"""Every built-in connector passes the same acceptance suite a third-party connector runs."""

from __future__ import annotations

import csv
import json
import sqlite3
from functools import partial

import pytest

from connectors.csv_source import CsvSource
from connectors.folder import DropFolder
from connectors.jsonl import Jsonl
from connectors.kobo import KoboConnector
from connectors.odk import OdkCentral
from connectors.rest import RestConnector
from connectors.sql_source import SqlSource
from connectors.statement import StatementSource
from connectors.wasl import WaslConnector
from connectors.xlsx_source import XlsxSource
from hub.sdk import StreamConfig
from hub.testing import ConnectorSuite, Response
from tests.connectors.test_odk import MAPPING as ODK_MAPPING
from tests.connectors.test_odk import FakeCentral, settings_for
from tests.reconcile.builders import Line, camt053

DONATION = {
    "id": "D1",
    "association_id": "A1",
    "amount": "100.5",
    "currency": "SYP",
    "donated_at": "2026-10-01T10:00:00+03:00",
    "channel": "cash",
    "status": "received",
    "donor": {"name": "فاطمة علي"},
}
DISTRIBUTION_MAPPING = {
    "id": "رقم",
    "association_id": {"const": "A1"},
    "sector": {"const": "food_security"},
    "governorate": {"column": "المحافظة", "type": "governorate"},
    "distributed_at": {"column": "التاريخ", "type": "datetime", "format": "%d/%m/%Y"},
    "households": {"column": "الأسر", "type": "integer"},
}
ROWS = [
    ["B1", "حلب", "01/10/2026", "12"],
    ["B2", "إدلب", "02/10/2026", "٧"],
    ["B3", "Homs", "03/10/2026", "4"],
    ["B4", "حماة", "04/10/2026", "9"],
]


def _csv(path, rows=ROWS):
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        w = csv.writer(f)
        w.writerow(["رقم", "المحافظة", "التاريخ", "الأسر"])
        w.writerows(rows)


class TestCsvKit(ConnectorSuite):
    connector = CsvSource
    streams = [StreamConfig("d", "distribution", mapping=DISTRIBUTION_MAPPING)]

    def settings(self, tmp_path, server):
        _csv(tmp_path / "d.csv")
        return {"path": "d.csv"}

    def bad_settings(self, tmp_path, server):
        return {"path": "missing.csv"}


class TestXlsxKit(ConnectorSuite):
    connector = XlsxSource
    streams = [StreamConfig("d", "distribution", mapping=DISTRIBUTION_MAPPING)]

    def settings(self, tmp_path, server):
        from openpyxl import Workbook

        wb = Workbook()
        wb.active.append(["رقم", "المحافظة", "التاريخ", "الأسر"])
        for r in ROWS:
            wb.active.append(r)
        wb.save(tmp_path / "d.xlsx")
        return {"path": "d.xlsx"}

    def bad_settings(self, tmp_path, server):
        (tmp_path / "broken.xlsx").write_bytes(b"not a workbook")
        return {"path": "broken.xlsx"}

    def sample_records(self):
        return {"donation": [DONATION, {**DONATION, "id": "D2", "amount": "=1+1"}]}

    def read_back(self, tmp_path, server, settings, entity):
        from hub.services.workbook import read_workbook

        return read_workbook(tmp_path / settings["path"]).get(entity, [])


class TestJsonlKit(ConnectorSuite):
    connector = Jsonl
    streams = [StreamConfig("d", "donation")]

    def settings(self, tmp_path, server):
        (tmp_path / "d.jsonl").write_text(
            "".join(json.dumps({**DONATION, "id": f"D{i}"}, ensure_ascii=False) + "\n" for i in range(4)), encoding="utf-8"
        )
        return {"path": "d.jsonl", "folder": "out"}

    def bad_settings(self, tmp_path, server):
        return {"path": "nope.jsonl"}

    def sample_records(self):
        return {"donation": [DONATION, {**DONATION, "id": "D2"}]}

    def read_back(self, tmp_path, server, settings, entity):
        return [json.loads(x) for x in (tmp_path / "out" / f"{entity}.jsonl").read_text(encoding="utf-8").splitlines()]


class TestSqlKit(ConnectorSuite):
    connector = SqlSource
    streams = [
        StreamConfig(
            "gifts",
            "donation",
            options={"query": "select * from gifts", "cursor_column": "given_at"},
            mapping={
                "id": "ref",
                "association_id": {"const": "A1"},
                "amount": {"column": "amount", "type": "decimal"},
                "currency": {"const": "SYP"},
                "donated_at": {"column": "given_at", "type": "datetime"},
                "channel": {"const": "direct"},
                "status": {"const": "received"},
            },
        )
    ]

    def settings(self, tmp_path, server):
        db = sqlite3.connect(tmp_path / "erp.db")
        db.execute("create table gifts (ref text primary key, amount numeric, given_at text)")
        db.executemany("insert into gifts values (?,?,?)", [(f"G{i}", 10 * i, f"2026-10-0{i} 09:00:00") for i in range(1, 5)])
        db.commit()
        db.close()
        return {"url": "sqlite:///erp.db", "create_tables": True, "tables": {"donation": "hub_donations"}}

    def bad_settings(self, tmp_path, server):
        return {"url": "sqlite:////nonexistent-folder/erp.db"}

    def add_newer_records(self, tmp_path, server, settings):
        db = sqlite3.connect(tmp_path / "erp.db")
        db.executemany("insert into gifts values (?,?,?)", [("G8", 80, "2026-10-08 09:00:00"), ("G9", 90, "2026-10-09 09:00:00")])
        db.commit()
        db.close()
        return ["G8", "G9"]

    def sample_records(self):
        return {"donation": [DONATION, {**DONATION, "id": "D2", "amount": "7"}]}

    def read_back(self, tmp_path, server, settings, entity):
        db = sqlite3.connect(tmp_path / "erp.db")
        try:
            return db.execute("select id, amount, donor_name from hub_donations").fetchall()
        finally:
            db.close()


class TestStatementKit(ConnectorSuite):
    connector = StatementSource

    def settings(self, tmp_path, server):
        (tmp_path / "s.xml").write_text(
            camt053([Line("T1", "10", name="Sami"), Line("T2", "20"), Line("T3", "5", direction="DBIT")]), encoding="utf-8"
        )
        return {"path": "s.xml"}

    def bad_settings(self, tmp_path, server):
        (tmp_path / "x.xml").write_text("<Document><oops", encoding="utf-8")
        return {"path": "x.xml"}


class TestFolderKit(ConnectorSuite):
    connector = DropFolder
    streams = [StreamConfig("drops", "distribution", mapping=DISTRIBUTION_MAPPING)]

    def settings(self, tmp_path, server):
        (tmp_path / "drop").mkdir()
        _csv(tmp_path / "drop" / "a.csv", ROWS[:2])
        _csv(tmp_path / "drop" / "b.csv", ROWS[2:])
        return {"path": "drop"}

    def bad_settings(self, tmp_path, server):
        return {"path": "no-such-folder"}


def _kobo_api(server, submissions):
    def data(req):
        assert req.headers.get("Authorization") == "Token kit-token"
        subs = list(submissions)
        q = req.arg("query")
        if q:
            [(op, since)] = json.loads(q)["_submission_time"].items()  # Kobo's MongoDB query: $gt or $gte
            subs = [s for s in subs if (s["_submission_time"] >= since if op == "$gte" else s["_submission_time"] > since)]
        start, limit = int(req.arg("start", "0")), int(req.arg("limit", "1000"))
        page = subs[start : start + limit]
        nxt = (
            f"{server.url}/api/v2/assets/aF0rm/data/?format=json&limit={limit}&start={start + limit}" + (f"&query={q}" if q else "")
            if start + limit < len(subs)
            else None
        )
        return Response(200, {"count": len(subs), "next": nxt, "results": page})

    server.route("GET", "/api/v2/assets/aF0rm/data/", data)


def submission(i):
    return {
        "_id": i,
        "_uuid": f"u{i}",
        "_submission_time": f"2026-10-0{i}T08:00:00",
        "distribution/item": "سلة غذائية",
        "distribution/households": str(3 * i),
        "place/governorate": "حلب",
        "_attachments": [{"download_url": "x"}],
        "_geolocation": [36.2, 37.1],
    }


KOBO_MAPPING = {
    "id": "_uuid",
    "association_id": {"const": "A1"},
    "sector": {"const": "food_security"},
    "households": {"column": "distribution/households", "type": "integer"},
    "governorate": {"column": "place/governorate", "type": "governorate"},
    "distributed_at": {"column": "_submission_time", "type": "datetime"},
}


def _kobo_hub(folder, server, *, settings: str = "page_size: 2", stream: str = "", **mapping) -> None:
    """A hub.yaml whose connection ``field`` reads the test form into distributions (KOBO_MAPPING, and ``mapping``)."""
    fields = {**KOBO_MAPPING, **mapping}
    folder.write(
        "hub.yaml",
        "store: sqlite:///hub.db\nconnections:\n  field:\n    connector: kobo\n"
        f"    settings: {{url: '{server.url}', token: kit-token, form: aF0rm, retries: 0, {settings}}}\n"
        "    streams:\n      submissions:\n        entity: distribution\n        keep_unmapped: false\n"
        + stream
        + "        mapping:\n"
        + "".join(f"          {k}: {json.dumps(v, ensure_ascii=False)}\n" for k, v in fields.items()),
    )


def _run_field(folder) -> dict:
    r = folder.hub("run", "field", "--json")
    assert r.code == 0, r.err
    return json.loads(r.out)["runs"][0]


class TestKoboKit(ConnectorSuite):
    connector = KoboConnector
    streams = [
        StreamConfig(
            "submissions",
            "distribution",
            mapping={
                "id": "_uuid",
                "association_id": {"const": "A1"},
                "sector": {"const": "food_security"},
                "item": "distribution/item",
                "households": {"column": "distribution/households", "type": "integer"},
                "governorate": {"column": "place/governorate", "type": "governorate"},
                "distributed_at": {"column": "_submission_time", "type": "datetime"},
            },
            keep_unmapped=False,
        )
    ]

    def settings(self, tmp_path, server):
        self.subs = [submission(i) for i in range(1, 5)]
        _kobo_api(server, self.subs)
        return {"url": server.url, "token": "kit-token", "form": "aF0rm", "page_size": 2, "retries": 0}

    def bad_settings(self, tmp_path, server):
        return {"url": server.url, "token": "wrong-token-secret", "form": "nope", "retries": 0}

    def add_newer_records(self, tmp_path, server, settings):
        self.subs += [submission(8), submission(9)]
        return [8, 9]


class TestOdkKit(ConnectorSuite):
    connector = OdkCentral
    streams = [StreamConfig("submissions", "distribution", mapping=ODK_MAPPING, keep_unmapped=False)]

    def settings(self, tmp_path, server):
        self.central = FakeCentral(server)
        for i in range(1, 5):
            self.central.add(i, 3 * i)
        return settings_for(server, page_size=2, lookback_seconds=0)

    def bad_settings(self, tmp_path, server):
        return {**settings_for(server), "password": "wrong-secret", "form": "nope"}

    def add_newer_records(self, tmp_path, server, settings):
        self.central.add(8, 5)
        self.central.add(9, 6)
        return [8, 9]


def test_a_kobo_answer_that_is_not_a_page_or_points_at_itself_fails_in_words(tmp_path):
    from hub import ConnectorError
    from hub.sdk import ConnectorContext, Cursor
    from hub.testing import TestServer

    with TestServer() as server:
        data = f"{server.url}/api/v2/assets/aF0rm/data/"
        conn = KoboConnector(
            {"url": server.url, "token": "t", "form": "aF0rm", "retries": 0}, ConnectorContext(connection="k", base_dir=tmp_path)
        )
        for answer, said in (
            (["not", "a", "page"], "something other than a page of submissions"),
            # A link to another site would carry the form's token there: the read stops first.
            ({"next": "https://elsewhere.example/steal?start=2", "results": [submission(1)]}, "gave a next page on another site"),
            ({"next": data, "results": [submission(1), "not a submission"]}, "names itself as the next page"),
        ):
            server.route("GET", "/api/v2/assets/aF0rm/data/", lambda req, answer=answer: Response(200, answer))
            rows = []
            with pytest.raises(ConnectorError, match=said):
                for row in conn.streams()[0].read(Cursor(None)):
                    rows.append(row.data)
        assert rows[1] == "not a submission"  # handed on as it came, for the pipeline to quarantine raw
        conn.close()


def test_every_builtin_connector_has_a_kit_suite():
    from hub.plugins import Plugins

    suites = {cls.connector.name for cls in ConnectorSuite.__subclasses__() if cls.__module__ == __name__}
    assert set(Plugins().load().connectors.names()) <= suites


class TestWaslKit(ConnectorSuite):
    """Against a real platform hub's API, served from this process."""

    connector = WaslConnector
    streams = [StreamConfig("donations", "donation")]

    @pytest.fixture(autouse=True)
    def platform_api(self, tmp_path):
        from hub.app import Hub
        from hub.services import tokens
        from tests.platform.conftest import ApiThread

        (tmp_path / "platform").mkdir()
        (tmp_path / "platform" / "hub.yaml").write_text("store: sqlite:///hub.db\n", encoding="utf-8")
        self.platform = Hub.from_path(tmp_path / "platform" / "hub.yaml")
        self.api = ApiThread(self.platform)
        self.writer = tokens.create(self.platform, "kit", association="A1", platform=False, read=True, write=True)["token"]
        # What the connector pulls was written by someone else (the platform's desk): its own
        # association's pushes are not pulled back (skip_own).
        self.desk = tokens.create(self.platform, "desk", association=None, platform=True, read=True, write=True)["token"]
        yield
        self.api.stop()
        self.platform.close()

    def _push(self, ids):
        import httpx

        records = [{**DONATION, "id": f"W{i}"} for i in ids]
        r = httpx.post(f"{self.api.url}/api/v1/donation/batch", json={"records": records}, headers={"Authorization": f"Bearer {self.desk}"})
        assert r.json()["accepted"] == len(ids)

    def settings(self, tmp_path, server):
        self._push(range(1, 5))
        return {"url": self.api.url, "token": self.writer, "page_size": 3, "retries": 0}

    def bad_settings(self, tmp_path, server):
        return {"url": self.api.url, "token": "wh_wrong-token-secret", "retries": 0}

    def add_newer_records(self, tmp_path, server, settings):
        self._push([8, 9])
        return [8, 9]

    def sample_records(self):
        return {"donation": [{**DONATION, "id": "S1"}, {**DONATION, "id": "S2"}]}

    def read_back(self, tmp_path, server, settings, entity):
        with self.platform.store.engine.connect() as conn:
            rows = conn.exec_driver_sql("select data from records where entity = ? and key like 'A1|S%'", (entity,)).all()
        return [json.loads(r[0]) for r in rows]


def _rest_api(server, records: list[dict], received: dict):
    def page(req):
        since = req.arg("since")
        rows = [r for r in records if since is None or r["updated"] > since]
        n, size = int(req.arg("page", "1")), int(req.arg("per_page", "2"))
        return Response(200, {"data": {"items": rows[(n - 1) * size : n * size]}})

    def post(req):
        if req.headers.get("X-Api-Key") != "kit-key":
            return Response(401, {"detail": "bad key"})
        for r in req.json()["gifts"]:
            received[r["id"]] = r
        return Response(201, {"ok": True})

    server.route("GET", "/v2/gifts", page)
    server.route("POST", "/v2/gifts", post)


class TestRestKit(ConnectorSuite):
    connector = RestConnector
    streams = [
        StreamConfig(
            "gifts",
            "donation",
            mapping={
                "id": "ref",
                "association_id": {"const": "A1"},
                "amount": {"column": "amount", "type": "decimal"},
                "currency": {"const": "SYP"},
                "donated_at": {"column": "updated", "type": "datetime"},
                "channel": {"const": "platform"},
                "status": {"const": "received"},
            },
            keep_unmapped=False,
            options={
                "path": "/gifts",
                "record_path": "data.items",
                "pagination": {"type": "page", "size_param": "per_page", "page_size": 2},
                "incremental": {"field": "updated", "param": "since"},
            },
        )
    ]

    def settings(self, tmp_path, server):
        self.gifts = [{"ref": f"G{i}", "amount": f"{i}0.00", "updated": f"2026-10-0{i}T10:00:00+03:00"} for i in range(1, 6)]
        self.received = {}
        _rest_api(server, self.gifts, self.received)
        return {
            "url": f"{server.url}/v2",
            "auth": {"type": "header", "name": "X-Api-Key", "value": "kit-key"},
            "check_path": "/gifts",
            "write": {"path": "/gifts", "body_key": "gifts"},
            "retries": 0,
        }

    def bad_settings(self, tmp_path, server):
        return {"url": f"{server.url}/nowhere", "auth": {"type": "bearer", "token": "secret-token-x"}, "retries": 0}

    def add_newer_records(self, tmp_path, server, settings):
        self.gifts += [{"ref": "G8", "amount": "8.00", "updated": "2026-10-08T10:00:00+03:00"}]
        return ["G8"]

    def sample_records(self):
        return {"donation": [DONATION, {**DONATION, "id": "D2"}]}

    def read_back(self, tmp_path, server, settings, entity):
        return list(self.received.values())


def test_kobo_times_are_read_as_the_utc_they_are(tmp_path):
    # Kobo writes _submission_time in UTC without an offset. Taken in the connection's zone, a
    # distribution submitted at 22:30 UTC was stored three hours early, on the day before.
    from hub.mapping import compile_mapping
    from hub.sdk import ConnectorContext, Cursor
    from hub.testing import TestServer

    with TestServer() as server:
        late = {**submission(1), "_submission_time": "2026-10-01T22:30:00", "end": "2026-10-02T01:20:00.000+03:00"}
        _kobo_api(server, [late, {**submission(2), "_submission_time": "2026-10-02T08:00:00Z"}])
        conn = KoboConnector(
            {"url": server.url, "token": "kit-token", "form": "aF0rm", "retries": 0}, ConnectorContext(connection="k", base_dir=tmp_path)
        )
        cursor = Cursor(None)
        rows = [r.data for r in conn.streams()[0].read(cursor)]
        conn.close()
    assert [r["_submission_time"] for r in rows] == ["2026-10-01T22:30:00+00:00", "2026-10-02T08:00:00Z"]
    assert rows[0]["end"] == "2026-10-02T01:20:00.000+03:00", "the form's own times keep the device's offset"
    assert cursor.value["submitted"] == "2026-10-02T08:00:00Z", "the cursor stays as the server writes it, for its next query"
    mapping = compile_mapping({"at": {"column": "_submission_time", "type": "datetime"}}, timezone="Asia/Damascus", keep_unmapped=False)
    assert mapping.apply(rows[0]) == {"at": "2026-10-01T22:30:00+00:00"}, "the moment it was, not three hours before"


def test_kobo_reads_again_from_the_second_it_stopped_at(tmp_path):
    # Two submissions of one second, a batch committed between them, the run killed: asking
    # for what came *after* that second lost the second submission for good.
    from hub.sdk import ConnectorContext, Cursor
    from hub.testing import TestServer

    with TestServer() as server:
        same = [{**submission(1), "_uuid": "u1"}, {**submission(1), "_uuid": "u1b"}, submission(2)]
        _kobo_api(server, same)
        conn = KoboConnector(
            {"url": server.url, "token": "kit-token", "form": "aF0rm", "retries": 0}, ConnectorContext(connection="k", base_dir=tmp_path)
        )
        rows = [r.data["_uuid"] for r in conn.streams()[0].read(Cursor(same[0]["_submission_time"]))]
        conn.close()
    assert rows == ["u1", "u1b", "u2"], "the committed second is read again (u1 is found unchanged)"


def test_a_submission_edited_in_kobo_arrives_when_every_submission_is_read_again(folder):
    # Kobo keeps an edited submission's _submission_time and names no time of edit: an
    # incremental read cannot see the edit; the periodic reading of every submission does.
    from hub.testing import TestServer

    with TestServer() as server:
        subs = [submission(i) for i in range(1, 4)]
        _kobo_api(server, subs)
        _kobo_hub(folder, server)

        run = partial(_run_field, folder)

        def households(uuid: str) -> int:
            [(data,)] = folder.sql("select data from records where key = ?", (f"A1|{uuid}",))
            return json.loads(data)["households"]

        assert run()["inserted"] == 3
        subs[1]["distribution/households"] = "40"  # corrected in Kobo: the same _submission_time
        subs.append(submission(4))
        second = run()
        assert (second["inserted"], second["updated"]) == (1, 0), "an incremental read sees the new one only"
        assert households("u2") == 6
        [state] = json.loads(folder.hub("state", "show", "field", "--json").out)
        assert state["cursor"]["submitted"] == "2026-10-04T08:00:00"

        # A day later, as the cursor tells it: every submission is read again, and the edit arrives.
        aged = {**state["cursor"], "reread_at": "2026-01-01T00:00:00+00:00"}
        assert folder.hub("state", "set", "field", json.dumps(aged)).code == 0
        third = run()
        assert (third["read"], third["updated"], third["unchanged"]) == (4, 1, 3)
        assert households("u2") == 40
        [state] = json.loads(folder.hub("state", "show", "field", "--json").out)
        assert state["cursor"]["reread_at"] > "2026-01-01T00:00:00+00:00"
        assert run()["read"] == 1, "the next run is incremental again (the last one, at or after)"


def test_a_kobo_repeat_gives_one_distribution_per_entry(folder):
    # A household recorded once, and what it received in a repeat group: one item per entry.
    from hub.testing import TestServer

    with TestServer() as server:
        first = {
            **submission(1),
            "distribution/items": [
                {"distribution/items/item": "طحين", "distribution/items/quantity": "2"},
                {"distribution/items/item": "زيت", "distribution/items/quantity": "1"},
            ],
            "visits": [{"visits/day": "2026-10-01"}],  # another repeat: not these rows'
        }
        _kobo_api(server, [first, submission(2)])  # the second sent with no entry: Kobo leaves the key out
        _kobo_hub(
            folder,
            server,
            settings="repeat: distribution/items",
            id={"columns": ["_uuid", "distribution/items/_index"], "join": "-"},
            item="distribution/items/item",
            quantity={"column": "distribution/items/quantity", "type": "decimal"},
        )
        r = folder.hub("run", "field", "--json")
    assert r.code == 0, r.err
    assert json.loads(r.out)["runs"][0]["inserted"] == 2
    stored = {key: json.loads(data) for key, data in folder.sql("select key, data from records")}
    assert {k: (v["item"], v["quantity"], v["households"]) for k, v in stored.items()} == {
        "A1|u1-1": ("طحين", "2", 3),
        "A1|u1-2": ("زيت", "1", 3),
    }
    assert "1 submission(s) had no entry in 'distribution/items'" in r.err


def test_a_submission_deleted_in_kobo_is_named_after_every_submission_is_read_again(folder):
    # Only the reading of every submission meets them all: an incremental run, or one that
    # carries on a reading begun by a run that stopped, names nothing.
    from hub.testing import TestServer

    with TestServer() as server:
        subs = [submission(i) for i in range(1, 4)]
        _kobo_api(server, subs)
        _kobo_hub(folder, server, stream="        report_deleted: true\n")
        run = partial(_run_field, folder)

        assert run()["flags"] == [], "the first run reads every submission, and each is stored"
        del subs[1]  # deleted in Kobo
        assert run()["flags"] == [], "an incremental read does not meet the older submissions: it names none"
        [state] = json.loads(folder.hub("state", "show", "field", "--json").out)
        aged = {**state["cursor"], "reread_at": "2026-01-01T00:00:00+00:00"}
        assert folder.hub("state", "set", "field", json.dumps(aged)).code == 0
        [flag] = run()["flags"]
        assert flag.startswith("submissions: 1 record(s) stored before are no longer in the source: A1|u2."), flag
        assert folder.sql("select count(*) from records") == [(3,)], "named, not deleted"

        # A reading of every submission that a stopped run began, carried on by the next: it met
        # only the rest, so it names nothing.
        [state] = json.loads(folder.hub("state", "show", "field", "--json").out)
        begun = {"submitted": subs[0]["_submission_time"], "reread_at": state["cursor"]["reread_at"]}
        assert folder.hub("state", "set", "field", json.dumps(begun)).code == 0
        assert run()["flags"] == []
