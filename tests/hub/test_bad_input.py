"""Bad input from outside: a clear message naming where and what, exit 2, no traceback, nothing lost."""

from __future__ import annotations

import json

import openpyxl
import yaml

from tests.conftest import DONATION_HEADER, DONATION_RECORD, ON_POSTGRES, donation_rows


def _no_traceback(r):
    assert "Traceback" not in r.err and "Traceback" not in r.out


def test_malformed_config_yaml_names_the_line(donations):
    donations.write("hub.yaml", "connections:\n  amal:\n    connector: csv\n   settings: [\n")
    r = donations.hub("run", "amal")
    assert r.code == 2
    _no_traceback(r)
    assert "hub.yaml line" in r.err and "not valid YAML" in r.err


def test_a_key_written_twice_in_hub_yaml_is_refused_with_both_lines(donations):
    # A connection block copied to make a second one and not renamed: YAML readers keep the last
    # one without a word, and the first connection was gone from every run and schedule.
    cfg = (donations.path / "hub.yaml").read_text(encoding="utf-8")
    donations.write("hub.yaml", cfg + "  amal:\n    connector: xlsx\n    settings: {path: amal.xlsx}\n")
    r = donations.hub("run", "amal")
    assert r.code == 2
    _no_traceback(r)
    first = cfg.splitlines().index("  amal:") + 1
    second = len(cfg.splitlines()) + 1
    assert f"hub.yaml line {second}, column 3: not valid YAML: key 'amal' is written twice in this mapping (first on line {first})" in r.err


def test_a_key_merged_from_an_anchor_may_still_be_set_beside_it():
    # `<<: *defaults` then `batch_size: 10` overrides the merged value: that is what a merge is for.
    from hub.config import _Loader

    text = "defaults: &d {connector: csv, settings: {path: a.csv}}\nc:\n  <<: *d\n  connector: xlsx\n"
    assert yaml.load(text, Loader=_Loader)["c"] == {"connector": "xlsx", "settings": {"path": "a.csv"}}  # noqa: S506 - the hub's safe loader


def test_a_name_mistyped_in_hub_yaml_is_told_the_one_it_most_likely_means(donations):
    cfg = (donations.path / "hub.yaml").read_text(encoding="utf-8")
    for wrong, said in (
        (("connector: csv", "connector: cvs"), "connections.amal.connector: unknown connector 'cvs'; did you mean 'csv'?"),
        (("type: decimal", "type: decimel"), ".type: unknown type 'decimel'; did you mean 'decimal'?"),
        (("connector: jsonl", "connector: json"), "connections.export.connector: unknown connector 'json'; did you mean 'jsonl'?"),
    ):
        assert wrong[0] in cfg, wrong
        donations.write("hub.yaml", cfg.replace(wrong[0], wrong[1], 1))
        r = donations.hub("run", "amal")
        assert r.code == 2 and said in r.err, r.err
        _no_traceback(r)


def test_config_schema_errors_are_all_reported_with_key_paths(donations):
    donations.write(
        "hub.yaml",
        "batch_size: -1\nconnections:\n  amal:\n    connectr: csv\n  other:\n    connector: csv\n    streams:\n      s: {entity: donut}\n"
        f"      {'s' * 121}: {{entity: donation}}\n",  # a stream name is stored beside each record it brings: 120 at most
    )
    r = donations.hub("run", "amal")
    assert r.code == 2
    _no_traceback(r)
    assert "batch_size: -1 is less than the minimum of 1" in r.err
    assert "connections.amal: 'connector' is a required property" in r.err
    assert "connections.amal: unknown key 'connectr'; did you mean 'connector'?" in r.err
    assert "connections.other.streams.s.entity" in r.err
    assert f"connections.other.streams: '{'s' * 121}' is too long" in r.err


def test_settings_past_what_the_hub_can_count_are_refused_with_their_key(donations):
    # A retention of 9999999999 days failed the job with "OverflowError: Python int too large to
    # convert to C int" (and a traceback in the serve log); NaN passed "minimum: 0", as every
    # comparison with it is false, and reached the matcher's arithmetic.
    cfg = (donations.path / "hub.yaml").read_text(encoding="utf-8")
    for extra, message in [
        (
            "jobs:\n  retention:\n    schedule: {cron: '0 4 * * 0'}\n    keep_days: {runs: 9999999999}\n",
            "jobs.retention.keep_days.runs: 9999999999 is greater than the maximum of 36500",
        ),
        ("reconcile: {date_window_days: 99999999999}\n", "reconcile.date_window_days: 99999999999 is greater than the maximum of 3660"),
        (
            "celery: {broker: 'redis://x', lease_seconds: 99999999999}\n",
            "celery.lease_seconds: 99999999999 is greater than the maximum of 86400",
        ),
        (
            "notify:\n  email: {host: smtp.example.org, port: 99999, sender: a@example.org, to: [b@example.org]}\n",
            "notify.email.port: 99999 is greater than the maximum of 65535",
        ),
        (
            "reconcile: {tolerance: {percent: .nan}}\n",
            "column 34: not valid YAML: '.nan' is not a number a setting can take",
        ),
        (
            "reconcile:\n  tolerance: {absolute: {SYP: .inf}}\n",
            "column 31: not valid YAML: '.inf' is not a number a setting can take",
        ),
    ]:
        donations.write("hub.yaml", cfg + extra)
        r = donations.hub("run", "amal")
        assert r.code == 2 and message in r.err, (extra, r.err)
        _no_traceback(r)


def test_a_yaml_date_where_text_belongs_is_named_like_any_other_error(donations):
    # YAML reads an unquoted 2026-01-01 as a date, a type the fast checker does not take.
    cfg = (donations.path / "hub.yaml").read_text(encoding="utf-8")
    donations.write("hub.yaml", "timezone: 2026-01-01\n" + cfg)
    r = donations.hub("run", "amal")
    assert r.code == 2
    _no_traceback(r)
    assert "timezone: datetime.date(2026, 1, 1) is not of type 'string'" in r.err


def test_hub_yaml_keeps_no_on_yes_and_leading_zeros_as_written(folder):
    # YAML 1.1 reads unquoted No, On and yes as booleans and 0123 as octal: `id: No` was refused
    # as not a column name, `column: On` read a column True, `map: {yes: ...}` and
    # `map: {01: ...}` had keys no cell matched, and `const: 0123` stored 83. Only true and false
    # are booleans now, and 0123 is text.
    folder.write_csv(
        "a.csv",
        ["No", "الاسم", "On", "Registered", "Kind"],
        [["A-1", "جمعية الأمل", "SY01", "yes", "01"], ["A-2", "جمعية البر", "SY02", "no", "02"]],
    )
    folder.write(
        "hub.yaml",
        "store: sqlite:///hub.db\nconnections:\n  a:\n    connector: csv\n    settings: {path: a.csv}\n"
        "    streams:\n      s:\n        entity: association\n        mapping:\n          id: No\n          name_ar: الاسم\n"
        "          governorate: {column: On, type: governorate}\n"
        "          status: {column: Registered, map: {yes: active, no: pending}}\n"
        "          name_en: {column: Kind, map: {01: Relief, 02: Development}}\n"
        "          registration_number: {const: 0123}\n",
    )
    r = folder.hub("run", "a", "--json")
    assert r.code == 0, r.err
    got = {json.loads(d)["id"]: json.loads(d) for (d,) in folder.sql("select data from records")}
    assert set(got) == {"A-1", "A-2"} and got["A-1"]["governorate"] == "SY01"
    assert (got["A-1"]["status"], got["A-2"]["status"]) == ("active", "pending")
    assert (got["A-1"]["name_en"], got["A-2"]["name_en"]) == ("Relief", "Development")
    assert got["A-1"]["registration_number"] == "0123"
    # A boolean setting written the YAML 1.1 way is named, not taken for text.
    folder.write("hub.yaml", (folder.path / "hub.yaml").read_text(encoding="utf-8") + "parallel: no\n")
    r = folder.hub("run", "a")
    assert r.code == 2 and "parallel: 'no' is not of type 'boolean'" in r.err, r.err


def test_unknown_connector_names_the_key_and_the_known_ones(donations):
    donations.write("hub.yaml", "connections:\n  amal:\n    connector: cvs\n")
    r = donations.hub("run", "amal")
    assert r.code == 2
    _no_traceback(r)
    assert "connections.amal.connector: unknown connector 'cvs'" in r.err
    assert "csv" in r.err and "xlsx" in r.err


def test_unknown_connection(donations):
    r = donations.hub("run", "nope")
    assert r.code == 2
    assert "no connection named 'nope'" in r.err and "amal" in r.err


def test_invalid_connector_settings_name_the_setting(donations):
    cfg = (donations.path / "hub.yaml").read_text(encoding="utf-8")
    donations.write("hub.yaml", cfg.replace("settings: {path: donations.csv}", "settings: {path: donations.csv, delimter: ';'}"))
    r = donations.hub("run", "amal")
    assert r.code == 2
    assert "connections.amal.settings: unknown key 'delimter'; did you mean 'delimiter'?" in r.err


def test_missing_file(donations):
    (donations.path / "donations.csv").unlink()
    r = donations.hub("run", "amal")
    assert r.code == 2
    _no_traceback(r)
    assert "donations.csv: no such file" in r.err
    assert donations.sql("select status, error from runs")[0][0] == "failed"


def test_missing_column_names_the_file_the_column_and_what_is_there(donations):
    donations.write_csv("donations.csv", [h for h in DONATION_HEADER if h != "المبلغ"], [[1, 2, 3, 4, 5]])
    r = donations.hub("run", "amal")
    assert r.code == 2
    _no_traceback(r)
    assert "donations.csv" in r.err and "'المبلغ'" in r.err and "not found" in r.err
    assert "اسم المتبرع" in r.err, "the hint lists the columns the file has"


def test_wrong_encoding_names_the_line_and_the_fix(donations):
    cfg = (donations.path / "hub.yaml").read_text(encoding="utf-8")
    donations.write("hub.yaml", cfg.replace("settings: {path: donations.csv}", "settings: {path: donations.csv, encoding: utf-8}"))
    donations.write_csv("donations.csv", DONATION_HEADER, donation_rows(3), encoding="cp1256")
    r = donations.hub("run", "amal")
    assert r.code == 2
    _no_traceback(r)
    assert "donations.csv line 1: the file is not valid utf-8" in r.err
    assert "windows-1256" in r.err


def test_a_utf8_file_cut_short_or_with_a_line_from_another_file_is_stopped_at_that_line(donations):
    rows = donation_rows(3000)
    good = "\n".join(",".join(r) for r in [DONATION_HEADER, *rows]).encode("utf-8")
    # An interrupted copy: the file ends in the middle of an Arabic letter. Before, it was "not
    # valid utf-8" with the advice to read it as Windows-1256, which would garble every name.
    assert good.endswith("ي".encode())
    donations.path.joinpath("donations.csv").write_bytes(good[:-1])
    for command in (("validate", "donation", "donations.csv"), ("run", "amal")):
        r = donations.hub(*command)
        assert r.code == 2, r.err
        _no_traceback(r)
        assert "donations.csv line 3001: the file ends in the middle of a character: it was cut short" in r.err, r.err
        assert "windows-1256" not in r.err

    # One line pasted from a Windows-1256 file, in the first 64 KB (where the encoding is guessed)
    # and past it (where the reader decodes ahead of the line it is on). Before, the first was
    # read as Windows-1256 whole, every name garbled without a word; the second named a line
    # about a hundred before the one at fault.
    for n in (10, 2500):
        at = good.index(f"D{n:07d},محمد أحمد".encode())
        name = len(f"D{n:07d},".encode())
        mixed = good[: at + name] + "محمد أحمد".encode("cp1256") + good[at + name + len("محمد أحمد".encode()) :]
        donations.path.joinpath("donations.csv").write_bytes(mixed)
        r = donations.hub("run", "amal")
        assert r.code == 2, r.err
        assert f"donations.csv line {n + 2}: the file is not valid utf-8" in r.err, r.err
        assert "mend that line, if it was pasted from another file" in r.err


def test_windows_1256_is_read_when_encoding_is_auto(donations):
    donations.write_csv("donations.csv", DONATION_HEADER, donation_rows(3), encoding="cp1256")
    r = donations.hub("run", "amal", "--json")
    assert r.code == 0, r.err
    assert json.loads(donations.sql("select data from records limit 1")[0][0])["donor"]["name"] == "محمد أحمد"


def test_a_western_export_in_windows_1252_is_read_as_such_when_encoding_is_auto(folder):
    # Donations collected by a partner in Europe: read as Arabic Windows-1256, "Jörg Käßler"
    # became "Jِrg Kنككler" (Windows-1256 shares only the French accented letters).
    folder.write(
        "hub.yaml",
        "store: sqlite:///hub.db\nconnections:\n  eu:\n    connector: csv\n    settings: {path: eu.csv}\n    streams:\n"
        "      g:\n        entity: donation\n        mapping:\n          id: Ref\n          association_id: {const: A1}\n"
        "          amount: {column: Betrag, type: decimal}\n          donor.name: Name\n          currency: {const: EUR}\n"
        "          donated_at: {const: '2026-10-01T10:00:00+02:00'}\n          channel: {const: bank_transfer}\n"
        "          status: {const: received}\n",
    )
    folder.write_csv(
        "eu.csv", ["Ref", "Name", "Betrag"], [["E1", "Jörg Käßler", "50"], ["E2", "Société Générale", "75"]], encoding="cp1252"
    )
    assert folder.hub("run", "eu").code == 0
    names = sorted(json.loads(d)["donor"]["name"] for (d,) in folder.sql("select data from records"))
    assert names == ["Jörg Käßler", "Société Générale"]


def test_semicolons_bom_rlm_marks_and_arabic_indic_digits(donations):
    header = ["\u200f" + h + " " for h in DONATION_HEADER]
    rows = [["D1", "فاطمة", "١٢٬٥٠٠٫٧٥", "SYP", "٠٣/١١/٢٠٢٦", "نقدي"]]
    donations.write_csv("donations.csv", header, rows, encoding="utf-8-sig", delimiter=";")
    r = donations.hub("run", "amal")
    assert r.code == 0, r.err
    rec = json.loads(donations.sql("select data from records")[0][0])
    assert (rec["amount"], rec["donated_at"]) == (
        "12500.75",
        "2026-11-03T00:00:00+03:00",
    )  # Syria keeps UTC+3 all year since 2022


def test_a_column_named_twice_is_refused_in_a_csv_and_in_a_workbook(folder):
    # Rows are read by column name: of two "amount" columns a workbook kept the second's value, silently.
    from openpyxl import Workbook

    wb = Workbook()
    wb.active.append(["id", "association_id", "amount", "currency", "amount"])
    wb.active.append(["D1", "A1", "100", "SYP", "200"])
    wb.save(folder.path / "d.xlsx")
    r = folder.hub("validate", "donation", "d.xlsx")
    assert r.code == 2, r.out
    assert "d.xlsx sheet 'Sheet' row 1: column 'amount' appears twice (column C and column E)" in r.err
    folder.write_csv("d.csv", ["id", "amount", "currency", "amount"], [["D1", "100", "SYP", "200"]])
    r = folder.hub("validate", "donation", "d.csv")
    assert r.code == 2 and "d.csv line 1: column 'amount' appears twice (column 2 and column 4)" in r.err
    _no_traceback(r)


def test_a_value_with_an_unquoted_comma_is_quarantined_not_shifted(folder):
    # "1,000" written without quotes in a comma file moved every value after it one column on:
    # the gift was stored as 1 pound from a donor named "000", and the name was dropped.
    folder.write(
        "hub.yaml",
        "store: sqlite:///hub.db\nconnections:\n  gifts:\n    connector: csv\n    settings: {path: g.csv}\n    streams:\n"
        "      g:\n        entity: donation\n        mapping:\n          id: رقم\n          association_id: {const: A1}\n"
        "          amount: {column: المبلغ, type: decimal}\n          donor.name: الاسم\n          currency: {const: SYP}\n"
        "          donated_at: {const: '2026-10-01T10:00:00+03:00'}\n          channel: {const: cash}\n"
        "          status: {const: received}\n",
    )
    folder.write("g.csv", "رقم,المبلغ,الاسم\nD1,1,000,سامي\nD2,500,ليلى,,\n")
    r = folder.hub("run", "gifts", "--json")
    assert r.code == 1, r.err
    run = json.loads(r.out)["runs"][0]
    assert (run["inserted"], run["quarantined"]) == (1, 1), "empty cells after the last column lose nothing: D2 is stored"
    [entry] = json.loads(folder.hub("quarantine", "list", "--json").out)
    assert entry["line"] == 2 and entry["raw"]["_overflow"] == ["سامي"], "kept whole, the pushed-out value too"
    [problem] = entry["errors"]
    assert problem["rule"] == "columns" and problem["message"].startswith("the line has 4 values where the header has 3 columns")
    assert [json.loads(d)["id"] for (d,) in folder.sql("select data from records")] == ["D2"]


def test_a_file_that_is_not_csv(donations):
    (donations.path / "donations.csv").write_bytes(b"")
    r = donations.hub("run", "amal")
    assert r.code == 2
    assert "empty or has no header row" in r.err


def test_a_broken_xlsx_is_refused_clearly(folder):
    folder.write(
        "hub.yaml",
        "store: sqlite:///hub.db\nconnections:\n  x:\n    connector: xlsx\n    settings: {path: d.xlsx}\n    streams:\n      d: {entity: distribution}\n",
    )
    (folder.path / "d.xlsx").write_bytes(b"PK\x03\x04 this is not a workbook")
    r = folder.hub("run", "x")
    assert r.code == 2
    _no_traceback(r)
    assert "d.xlsx: the workbook is damaged or cut short" in r.err


def test_secrets_come_from_env_and_never_appear_in_errors_or_the_store(folder):
    folder.write(
        "hub.yaml",
        "store: sqlite:///hub.db\nconnections:\n  db:\n    connector: sql\n    settings:\n      url: postgresql+psycopg://hub:${DB_PASSWORD}@127.0.0.1:1/none\n      query: select 1\n    streams:\n      s: {entity: donation}\n",
    )
    r = folder.hub("run", "db")
    assert r.code == 2
    assert "secret ${DB_PASSWORD} is not set" in r.err
    r = folder.hub("check", "db", env={"DB_PASSWORD": "s3cr3t-Pa55"})
    assert r.code == 2
    _no_traceback(r)
    assert "s3cr3t-Pa55" not in r.err + r.out
    r = folder.hub("run", "db", env={"DB_PASSWORD": "s3cr3t-Pa55"})
    assert "s3cr3t-Pa55" not in r.err + r.out
    dump = "\n".join(str(row) for t in ("runs", "quarantine", "audit_log", "stream_state") for row in folder.sql(f"select * from {t}"))
    assert "s3cr3t-Pa55" not in dump


def test_a_bad_jsonl_line_is_quarantined_not_fatal(folder):
    folder.write(
        "hub.yaml",
        "store: sqlite:///hub.db\nconnections:\n  j:\n    connector: jsonl\n    settings: {path: d.jsonl}\n    streams:\n      d: {entity: association}\n",
    )
    good = {"id": "a1", "name_ar": "جمعية", "governorate": "SY01", "status": "active"}
    folder.write(
        "d.jsonl",
        json.dumps(good, ensure_ascii=False) + "\n{not json\n[1,2]\n" + json.dumps({**good, "id": "a2"}) + "\n",
    )
    r = folder.hub("run", "j", "--json")
    assert r.code == 1
    run = json.loads(r.out)["runs"][0]
    assert (run["inserted"], run["quarantined"]) == (2, 2)
    q = json.loads(folder.hub("quarantine", "list", "--json").out)
    assert [(e["line"], e["raw"], e["errors"][0]["rule"]) for e in q] == [(2, "{not json", "json"), (3, [1, 2], "type")]


def test_a_whole_number_too_long_to_keep_exactly_is_quarantined_whole_never_rounded(folder):
    """A 30-digit register number written as a bare JSON number, not as text."""
    folder.write(
        "hub.yaml",
        "store: sqlite:///hub.db\nconnections:\n  j:\n    connector: jsonl\n    settings: {path: d.jsonl}\n    streams:\n      d: {entity: association}\n",
    )
    good = '"name_ar": "جمعية", "governorate": "SY01", "status": "active"'
    folder.write(
        "d.jsonl",
        f'{{"id": "a1", {good}, "extra": {{"register_no": 123456789012345678901234567890}}}}\n'
        f'{{"id": "a2", {good}, "extra": {{"highest": 18446744073709551615, "lowest": -9223372036854775808}}}}\n'
        f'{{"id": "a3", {good}, "extra": {{"n": [1, -9223372036854775809]}}}}\n'
        f'{{"id": "a4", {good}, "phone": 963944123456789012345}}\n'
        f'{{"id": "a5", {good}}}\n',
    )
    # `hub validate` says so before anything is stored, as a run will.
    checked = folder.hub("validate", "association", "d.jsonl", "--json")
    assert checked.code == 1 and [e["line"] for e in json.loads(checked.out)["invalid"]] == [1, 3, 4]
    r = folder.hub("run", "j", "--json")
    assert r.code == 1, r.out + r.err
    run = json.loads(r.out)["runs"][0]
    assert (run["inserted"], run["quarantined"]) == (2, 3)
    # What fits in 64 bits is stored digit for digit.
    (a2,) = folder.sql("select data from records where key = 'a2'")[0]
    assert '"highest":18446744073709551615' in a2 and '"lowest":-9223372036854775808' in a2
    q = {e["line"]: e for e in json.loads(folder.hub("quarantine", "list", "--json").out)}
    assert q[1]["raw"]["extra"]["register_no"] == 123456789012345678901234567890
    assert q[1]["errors"] == [
        {
            "path": "extra.register_no",
            "rule": "type",
            "message": "123456789012345678901234567890 is a whole number of 30 digits, more than is kept exactly; "
            'send it as text, like "123456789012345678901234567890"',
        }
    ]
    assert q[3]["raw"]["extra"]["n"] == [1, -9223372036854775809] and q[3]["errors"][0]["path"] == "extra.n.1"
    assert q[4]["raw"]["phone"] == 963944123456789012345
    # A spreadsheet keeps 15 digits of a number: the export writes a longer one as text, whole.
    assert folder.hub("quarantine", "export", "fix.xlsx").code == 0
    sheet = openpyxl.load_workbook(folder.path / "fix.xlsx").active
    header = [c.value for c in sheet[1]]
    phones = [row[header.index("phone")] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert "963944123456789012345" in phones


def test_a_nul_in_a_key_field_of_the_streams_choosing_quarantines_the_record_not_the_batch(folder):
    """Identifiers may not hold a control character, but a stream may key on a field that can (a reference)."""
    folder.write(
        "hub.yaml",
        "store: sqlite:///hub.db\nconnections:\n  j:\n    connector: jsonl\n    settings: {path: d.jsonl}\n"
        "    streams:\n      d: {entity: donation, key: [association_id, reference]}\n",
    )
    lines = [dict(DONATION_RECORD, id=f"D{i}", reference=f"REF-{i}") for i in range(3)]
    lines[1]["reference"] = "REF-\x001"
    folder.write("d.jsonl", "".join(json.dumps(line) + "\n" for line in lines))
    r = folder.hub("run", "j", "--json")
    assert r.code == 1, r.out + r.err
    assert (json.loads(r.out)["runs"][0]["inserted"], json.loads(r.out)["runs"][0]["quarantined"]) == (2, 1)
    (entry,) = json.loads(folder.hub("quarantine", "list", "--json").out)
    assert entry["raw"]["reference"] == "REF-\x001"
    assert entry["errors"] == [{"path": "reference", "rule": "key", "message": "the natural key field 'reference' holds a NUL character"}]


def test_a_jsonl_file_saved_with_a_byte_order_mark_reads_its_first_line(folder):
    # Windows editors start a UTF-8 file with a BOM; the first record was quarantined as "not valid JSON".
    folder.write(
        "hub.yaml",
        "store: sqlite:///hub.db\nconnections:\n  j:\n    connector: jsonl\n    settings: {path: d.jsonl}\n    streams:\n      d: {entity: association}\n",
    )
    good = {"id": "a1", "name_ar": "جمعية", "governorate": "SY01", "status": "active"}
    lines = "\r\n".join(json.dumps({**good, "id": f"a{i}"}, ensure_ascii=False) for i in (1, 2)) + "\r\n"
    (folder.path / "d.jsonl").write_bytes(b"\xef\xbb\xbf" + lines.encode("utf-8"))
    r = folder.hub("run", "j", "--json")
    assert r.code == 0, r.out
    assert json.loads(r.out)["runs"][0]["inserted"] == 2


def test_a_jsonl_line_in_another_encoding_or_cut_short_is_quarantined_with_the_reason_in_words(folder):
    folder.write(
        "hub.yaml",
        "store: sqlite:///hub.db\nconnections:\n  j:\n    connector: jsonl\n    settings: {path: d.jsonl}\n    streams:\n      d: {entity: association}\n",
    )
    lines = [
        json.dumps({"id": f"a{i}", "name_ar": "جمعية الأمل", "governorate": "SY01", "status": "active"}, ensure_ascii=False).encode()
        for i in range(1, 4)
    ]
    lines[1] = lines[1].replace("الأمل".encode(), "الأمل".encode("cp1256"))  # pasted from a Windows-1256 file
    at = lines[1].index("الأمل".encode("cp1256")) + 1
    # An interrupted copy: the file ends inside a letter of the last line.
    cut = b"\n".join(lines[:2]) + b"\n" + lines[2][: lines[2].index("الأمل".encode()) + 1]
    (folder.path / "d.jsonl").write_bytes(cut)

    r = folder.hub("run", "j", "--json")

    assert r.code == 1, r.err
    assert (json.loads(r.out)["runs"][0]["inserted"], json.loads(r.out)["runs"][0]["quarantined"]) == (1, 2)
    entries = sorted(json.loads(folder.hub("quarantine", "list", "--json").out), key=lambda e: e["line"])
    assert [(e["line"], e["errors"][0]["message"]) for e in entries] == [
        (
            2,
            f"the line is not UTF-8 from its byte {at} (0xC7): a line from a file in another encoding, such as Windows-1256? "
            "(those bytes kept as read in Windows-1256)",
        ),
        (3, "the line ends in the middle of a character: the file was cut short (an interrupted copy or download?)"),
    ]
    assert "جمعية الأمل" in entries[0]["raw"], "the line is kept as it was written, its Arabic legible, for the person mending it"


def test_usage_errors_exit_2(donations):
    assert donations.hub("run").code == 2
    assert donations.hub("frobnicate").code == 2
    assert donations.hub("state", "set", "amal", "not json").code == 2
    # An id longer than the store's 64-bit rows is the user's typo, not an overflow inside the hub.
    huge = "99999999999999999999"
    for args in (("runs", "show", huge), ("quarantine", "dismiss", huge), ("matches", "confirm", huge), ("tokens", "revoke", huge)):
        r = donations.hub(*args)
        assert r.code == 2 and "is not in the range 1<=x<=" in r.err, (args, r.err)
        _no_traceback(r)


def test_a_file_to_write_where_it_cannot_be_is_refused_in_words(donations):
    assert donations.hub("run", "amal").code == 0
    for args, option in (
        (("export", "missing/report.xlsx"), "'PATH'"),
        (("quarantine", "export", "missing/fixes.xlsx"), "'PATH'"),
        (("reconcile", "--report", "missing/matches.xlsx"), "'--report'"),
    ):
        r = donations.hub(*args)
        assert r.code == 2 and option in r.err and "the folder 'missing' does not exist" in r.err, r.err
        _no_traceback(r)
        assert "Exception ignored" not in r.err
    # A name the file system refuses, found only when writing: its words, not an internal error.
    r = donations.hub("export", "a" * 300 + ".xlsx")
    assert r.code == 2 and "File name too long" in r.err and "internal error" not in r.err, r.err
    _no_traceback(r)
    assert "Exception ignored" not in r.err
    assert sorted(p.name for p in donations.path.iterdir() if p.suffix == ".xlsx") == []  # nothing half-written left


def test_no_config_file(folder):
    r = folder.hub("run", "x")
    assert r.code == 2
    assert "no config file" in r.err and "hub init" in r.err


def test_a_token_for_an_association_the_register_does_not_hold_is_warned_about(folder):
    # A misspelt association made a token whose every push was refused, found only then.
    folder.write(
        "hub.yaml",
        "store: sqlite:///hub.db\nconnections:\n  register:\n    connector: csv\n    settings: {path: a.csv}\n"
        "    streams:\n      s: {entity: association}\n",
    )
    first = folder.hub("tokens", "create", "early", "--association", "asoc-amal")
    assert first.code == 0 and "warning" not in first.err, "no register kept yet: nothing to compare with"
    folder.write_csv("a.csv", ["id", "name_ar", "governorate", "status"], [["assoc-amal", "جمعية الأمل", "SY01", "active"]])
    assert folder.hub("run", "register").code == 0
    typo = folder.hub("tokens", "create", "amal", "--association", "asoc-amal", "--write")
    assert typo.code == 0 and typo.out.strip().splitlines()[-1].startswith("wh_"), "made all the same: the register may lag"
    assert "this hub's register has no association 'asoc-amal': check the spelling" in typo.err
    right = folder.hub("tokens", "create", "amal-2", "--association", "assoc-amal", "--write")
    assert right.code == 0 and "warning" not in right.err
    assert "warning" not in folder.hub("tokens", "create", "reader", "--platform").err


def test_a_token_for_an_empty_or_padded_association_or_a_taken_name_is_refused(folder):
    """An unset shell variable (``--association "$ASSOC"``) must not make a token that reads as the platform's."""
    folder.write("hub.yaml", "store: sqlite:///hub.db\n")
    assert folder.hub("tokens", "create", "amal", "--association", "assoc-amal", "--json").code == 0
    for association in ("", " assoc-amal", "assoc-amal\n", "assoc\x1bamal"):
        r = folder.hub("tokens", "create", "amal", "--association", association, "--write")
        assert r.code == 2, r.out
        _no_traceback(r)
        assert "is not an association id" in r.err
    r = folder.hub("tokens", "create", "nobody")
    assert r.code == 2 and "not both or neither" in r.err
    users = folder.hub(
        "users", "create", "a@example.org", "--name", "A", "--association", "", "--password-stdin", input="a long enough password\n"
    )
    assert users.code == 2 and "is not an association id" in users.err
    # An account nobody could sign in to: no e-mail, a name where the e-mail goes, no name.
    for email, name, said in (
        ("", "A", "is not an e-mail address"),
        ("Amal Staff", "A", "is not an e-mail address"),
        ("a@example.org", " ", "name"),
        ("a\x1b@example.org", "A", "is not an e-mail address"),
        ("a@example.org", "A\x1b[2J", "no control character"),
    ):
        account = folder.hub("users", "create", email, "--name", name, "--platform", "--password-stdin", input="a long enough password\n")
        assert account.code == 2 and said in account.err and "Traceback" not in account.err, account.err
    assert folder.sql("select association_id from api_tokens") == [("assoc-amal",)]
    assert folder.sql("select count(*) from web_users") == [(0,)]
    # A name labels what its token wrote (api:<name>, token:<name>): it names one token only.
    again = folder.hub("tokens", "create", "amal", "--association", "assoc-birr")
    assert again.code == 2 and "a token named 'amal' exists already" in again.err
    # Names label what a token writes (api:<name>): no empty or padded ones, none too long to fit.
    for name in ("", "  amal-2  ", "amal hub", "a" * 65):
        refused = folder.hub("tokens", "create", name, "--association", "assoc-amal")
        assert refused.code == 2 and "is not one this hub takes" in refused.err, refused.err
        _no_traceback(refused)
    assert folder.hub("tokens", "create", "جمعية_الأمل-2", "--association", "assoc-amal").code == 0  # Arabic names are names
    # A lifetime of no days (a typo for 30, say) would hand out a token that never works.
    for days in ("0", "-3", "soon", "99999999"):
        lapsed = folder.hub("tokens", "create", "birr", "--association", "assoc-birr", "--expires-in", days)
        assert lapsed.code == 2 and "Invalid value for '--expires-in'" in lapsed.err, lapsed.err
        _no_traceback(lapsed)
    assert folder.sql("select count(*) from api_tokens") == [(2,)]


def test_a_misspelt_auth_setting_names_the_key_not_any_of_the_given_schemas(folder):
    config = """\
connections:
  crm:
    connector: rest
    settings:
      url: http://127.0.0.1:9/api
      path: /donations
      auth: {AUTH}
    streams:
      d: {entity: donation}
"""
    for auth, said in (
        (
            "{type: bearer, tokn: abc}",
            ["settings.auth: unknown key 'tokn'; did you mean 'token'?", "settings.auth: 'token' is a required property"],
        ),
        ("{type: Bearer, token: abc}", ["settings.auth.type: 'Bearer' is not one of 'bearer', 'basic', 'header'; did you mean 'bearer'?"]),
        ("{type: basic, username: u}", ["settings.auth: 'password' is a required property"]),
        ("{type: bearer, token: [abc]}", ["settings.auth.token: the value (a secret, not shown) is not of type 'string'"]),
    ):
        folder.write("hub.yaml", config.replace("{AUTH}", auth))
        r = folder.hub("check", "crm")
        assert r.code == 2
        _no_traceback(r)
        assert all(s in r.err for s in said) and "any of the given schemas" not in r.err, r.err
        assert "abc" not in r.err.replace("unknown key 'tokn'", "")  # the secret itself is never echoed


def test_text_from_outside_is_printed_as_text_never_as_markup_or_terminal_control(donations):
    """A CSV's cells reach the admin's terminal: ``[/b]`` must not stop the command, an ESC must not act."""
    rows = donation_rows(1)
    rows.append(["[/b] x", "[bold red]Ali\x1b]0;pwned\x07", "abc", "SYP", "01/02/2026", "نقدي"])  # quarantined: amount
    rows.append(["R\x1b[31m9", "Omar", "10", "SYP", "01/02/2026", "نقدي"])  # quarantined: a control character in the id
    rows.append(["R\x0010", "Omar", "10", "SYP", "01/02/2026", "نقدي"])  # a NUL, which PostgreSQL cannot store in a key
    rows.append(["R11", "Rana\x0bHaddad\x1b[2J", "10", "SYP", "01/02/2026", "نقدي"])  # stored: text is kept as written
    donations.write_csv("donations.csv", DONATION_HEADER, rows)
    run = donations.hub("run", "amal")
    assert run.code == 1, run.err
    _no_traceback(run)
    listed = json.loads(donations.hub("quarantine", "list", "--json").out)
    assert {e["errors"][0]["path"] for e in listed} == {"amount", "id"} and len(listed) == 3
    said = ""
    for entry in listed:
        shown = donations.hub("quarantine", "show", str(entry["id"]))
        assert shown.code == 0, shown.err
        _no_traceback(shown)
        said += shown.out
    assert "\x1b" not in said and "\x07" not in said and "\x00" not in said
    assert "[/b] x" in said and "[bold red]Ali\\x1b]0;pwned\\x07" in said and "R\\x1b[31m9" in said
    # The schema says what an identifier is in words, not as a regular expression.
    messages = {e["errors"][0]["message"] for e in listed}
    assert '"R\\u001b[31m9" is not a valid identifier: 1 to 120 characters, no space at either end, no control character' in messages
    assert sorted(donations.sql("select key from records")) == [("assoc-amal|D0000000",), ("assoc-amal|R11",)]
    # An error quoting what the user typed is text too.
    unknown = donations.hub("run", "nope[/b]")
    assert unknown.code == 2 and "no connection named 'nope[/b]'" in unknown.err
    _no_traceback(unknown)
    # Spreadsheets cannot hold control characters: shown as a line break or U+FFFD, never a failed report.
    from openpyxl import load_workbook

    assert donations.hub("export", "records.xlsx").code == 0
    cells = [c for row in load_workbook(donations.path / "records.xlsx").active.iter_rows(values_only=True) for c in row]
    assert "Rana\nHaddad\ufffd[2J" in cells
    exported = donations.hub("quarantine", "export", "fixes.xlsx")
    assert exported.code == 0, exported.err
    cells = [c for row in load_workbook(donations.path / "fixes.xlsx").active.iter_rows(values_only=True) for c in row]
    assert "R\ufffd[31m9" in cells and "R\ufffd10" in cells and "[bold red]Ali\ufffd]0;pwned\ufffd" in cells


def test_a_natural_key_of_the_streams_own_choosing_that_cannot_be_stored_is_quarantined(donations):
    """A stream may key on any fields; a key longer than the store keeps (or an object) is the record's fault, on every store."""
    cfg = (donations.path / "hub.yaml").read_text(encoding="utf-8")
    cfg = cfg.replace("        entity: donation\n", "        entity: donation\n        key: [association_id, description]\n")
    donations.write("hub.yaml", cfg.replace("          donor.name: اسم المتبرع\n", "          description: اسم المتبرع\n"))
    rows = donation_rows(2)
    rows[1][1] = "م" * 500
    donations.write_csv("donations.csv", DONATION_HEADER, rows)
    r = donations.hub("run", "amal")
    assert r.code == 1, r.err
    _no_traceback(r)
    assert donations.sql("select key from records") == [("assoc-amal|محمد أحمد",)]
    (entry,) = json.loads(donations.hub("quarantine", "list", "--json").out)
    assert entry["stage"] == "key" and entry["errors"][0]["message"] == "the natural key is 511 characters; at most 400 are kept"


def test_receipt_numbers_a_spreadsheet_wrote_in_scientific_notation_are_not_merged_into_one(donations):
    # Excel saves a General-formatted column of long receipt numbers as 1.23457E+11: the two
    # receipts below became one record, the second overwriting the first, without a word.
    rows = donation_rows(3)
    rows[0][0] = rows[1][0] = "1.23457E+11"
    donations.write_csv("donations.csv", DONATION_HEADER, rows)
    r = donations.hub("run", "amal")
    assert r.code == 1, r.err
    assert donations.sql("select key from records") == [("assoc-amal|D0000002",)]
    entries = json.loads(donations.hub("quarantine", "list", "--json").out)
    assert [(e["line"], e["stage"], e["errors"][0]["path"]) for e in entries] == [(2, "key", "id"), (3, "key", "id")]
    assert entries[0]["errors"][0]["message"].startswith(
        "'1.23457E+11' is a number in scientific notation: a spreadsheet rounded it, so several records would share it"
    )


def test_a_quote_never_closed_is_named_where_it_opens_not_where_the_reader_gave_up(donations):
    rows = "".join(f"D{i:07d},سامي,{100 + i},SYP,15/10/2026,نقدي\n" for i in range(1, 20_000))
    donations.write("donations.csv", ",".join(DONATION_HEADER) + '\nD0000000,"سامي,100,SYP,15/10/2026,نقدي\n' + rows)
    r = donations.hub("run", "amal")
    assert r.code == 2
    _no_traceback(r)
    assert "donations.csv line 2: a cell there runs on to line" in r.err and "past 131,072 characters" in r.err, r.err
    assert 'a quote (") opened in a cell and never closed' in r.err


def test_a_cell_too_long_on_its_own_line_is_not_blamed_on_a_quote(donations):
    rows = donation_rows(3)
    rows[1][1] = "سامي " * 30_000  # 150,000 characters on one line, every quote closed
    donations.write_csv("donations.csv", DONATION_HEADER, rows)
    r = donations.hub("run", "amal")
    assert r.code == 2
    _no_traceback(r)
    assert "donations.csv line 3: a cell there holds over 131,072 characters" in r.err, r.err
    assert "quote" not in r.err


def test_a_store_that_refuses_a_batch_is_reported_without_the_records_it_carried(donations):
    """The database's error names the statement and the reason; its parameters are donors' names and amounts."""
    assert donations.hub("run", "amal").code == 0  # the store exists, ten records in it
    if ON_POSTGRES:
        donations.execute(
            "CREATE FUNCTION refuse() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'refused by a trigger'; END $$ LANGUAGE plpgsql"
        )
        donations.execute("CREATE TRIGGER refuse BEFORE INSERT ON records FOR EACH ROW EXECUTE FUNCTION refuse()")
    else:
        donations.execute("CREATE TRIGGER refuse BEFORE INSERT ON records BEGIN SELECT RAISE(ABORT, 'refused by a trigger'); END")
    donations.write_csv("donations.csv", DONATION_HEADER, [["D9", "فاطمة الزهراء", "777.25", "SYP", "15/10/2026", "نقدي"]])
    r = donations.hub("run", "amal")
    assert r.code != 0 and "refused by a trigger" in r.err, r.err
    _no_traceback(r)
    assert "فاطمة الزهراء" not in r.err and "777.25" not in r.err
