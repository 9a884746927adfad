"""The common schema and ``hub validate``: formats checked, every invalid record reported."""

from __future__ import annotations

import json

import jsonschema
import pytest

from hub.schema import ENTITIES, load_schema

STANDARDS = (
    "IATI",
    "HXL",
    "360Giving",
    "ISO 20022",
    "ISO 4217",
    "ISO 8601",
    "OCHA",
    "HSDS",
    "MT940",
    "ISO 3166",
    "RFC 3339",
    "ISO 11649",
)


@pytest.mark.parametrize("entity", ENTITIES)
def test_each_schema_is_valid_draft_2020_12_and_documents_its_standards(entity):
    schema = load_schema(entity)
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["additionalProperties"] is False
    assert "extra" in schema["properties"]
    for name, prop in schema["properties"].items():
        if name == "extra":
            continue
        assert any(s in prop.get("description", "") for s in STANDARDS), f"{entity}.{name} names no standard"


def test_required_field_names_other_issues_rely_on():
    props = lambda e: set(load_schema(e)["properties"])  # noqa: E731 - a local shorthand
    assert {
        "id",
        "association_id",
        "program_id",
        "donor",
        "amount",
        "currency",
        "donated_at",
        "channel",
        "status",
        "reference",
    } <= props("donation")
    assert set(load_schema("donation")["properties"]["donor"]["properties"]) >= {"name", "account", "country"}
    assert {
        "id",
        "association_id",
        "program_id",
        "sector",
        "item",
        "quantity",
        "unit",
        "households",
        "individuals",
        "governorate",
        "location",
        "distributed_at",
        "value",
        "currency",
    } <= props("distribution")
    assert {
        "id",
        "registration_number",
        "name_ar",
        "name_en",
        "governorate",
        "governorates_served",
        "sectors",
        "bank_accounts",
        "status",
    } <= props("association")
    assert {
        "id",
        "account",
        "booking_date",
        "value_date",
        "amount",
        "currency",
        "direction",
        "status",
        "reversal",
        "counterparty",
        "remittance",
        "end_to_end_id",
    } <= props("bank_transaction")
    assert load_schema("donation")["properties"]["channel"]["enum"] == [
        "platform",
        "bank_transfer",
        "cash",
        "direct",
        "mobile",
    ]
    assert load_schema("donation")["properties"]["status"]["enum"] == ["pledged", "received", "refunded", "cancelled"]


def test_schema_cli_lists_and_shows(folder):
    listed = json.loads(folder.hub("schema", "list", "--json").out)
    assert [e["entity"] for e in listed] == list(ENTITIES)
    shown = json.loads(folder.hub("schema", "show", "donation").out)
    assert shown["$schema"] == "https://json-schema.org/draft/2020-12/schema" and "currency" in shown["$defs"]
    r = folder.hub("schema", "show", "donut")
    assert r.code == 2 and "unknown entity 'donut'" in r.err
    # For whoever writes a mapping: the columns, which are required, and what each takes in words.
    fields = {f["column"]: f for f in json.loads(folder.hub("schema", "show", "donation", "--fields", "--json").out)}
    assert fields["donor.name"]["required"] is False and fields["amount"]["required"] is True
    assert fields["currency"]["takes"] == "an ISO 4217 code, like SYP, USD, EUR or TRY"
    assert fields["channel"]["takes"] == 'one of "platform", "bank_transfer", "cash", "direct", "mobile"'
    assert fields["donated_at"]["takes"].startswith("a date and time with its UTC offset")
    assert "donor" not in fields, "an object is named by its own fields, dotted"
    served = {f["column"]: f for f in json.loads(folder.hub("schema", "show", "association", "--fields", "--json").out)}
    assert served["governorates_served"]["takes"] == "a list (in a file: separated by ; or ,) of: a P-code from SY01 to SY14"
    assert served["bank_accounts"]["takes"] == "a list of objects, each with scheme, value, bank, currency"
    shown = folder.hub("schema", "show", "donation", "--fields", env={"COLUMNS": "250"}).out
    assert "donor.account" in shown and "required" in shown and "The donor's name as written" in shown


GOOD = {
    "id": "D1",
    "association_id": "A1",
    "amount": "100.5",
    "currency": "SYP",
    "donated_at": "2026-10-01T10:00:00+03:00",
    "channel": "cash",
    "status": "received",
}


def test_validate_jsonl_reports_every_invalid_record_with_line_path_rule(folder):
    lines = [
        GOOD,
        {**GOOD, "id": "D2", "currency": "SYR", "donated_at": "2026-13-01T10:00:00+03:00"},
        {**GOOD, "id": "D3", "amount": 100.5},
        {k: v for k, v in GOOD.items() if k != "channel"},
        {**GOOD, "id": "D5", "donated_at": "2026-10-01T10:00:00"},
    ]
    folder.write("d.jsonl", "\n".join(json.dumps(x) for x in lines) + "\n")
    r = folder.hub("validate", "donation", "d.jsonl", "--json")
    assert r.code == 1
    out = json.loads(r.out)
    assert (out["records"], out["valid"]) == (5, 1)
    got = {i["line"]: [(e["path"], e["rule"]) for e in i["errors"]] for i in out["invalid"]}
    assert got == {
        2: [("currency", "enum"), ("donated_at", "format")],
        3: [("amount", "type")],
        4: [("channel", "required")],
        5: [("donated_at", "format")],
    }
    assert all(set(e) == {"path", "rule", "message"} for i in out["invalid"] for e in i["errors"])


def _invalid(folder, entity: str, lines: list[dict]) -> tuple[int, dict[int, list[tuple[str, str, str]]]]:
    """``hub validate ENTITY`` over ``lines`` as JSONL: its exit code and each invalid line's (path, rule, message)."""
    folder.write("v.jsonl", "\n".join(json.dumps(x, ensure_ascii=False) for x in lines) + "\n")
    r = folder.hub("validate", entity, "v.jsonl", "--json")
    return r.code, {i["line"]: [(e["path"], e["rule"], e["message"]) for e in i["errors"]] for i in json.loads(r.out)["invalid"]}


def test_an_amount_sent_as_a_json_number_is_told_to_come_as_text(folder):
    # 'is not of type "string"' told an API client nothing of why; a float has lost digits already.
    _code, invalid = _invalid(folder, "donation", [{**GOOD, "amount": 100.5}, {**GOOD, "id": "D2", "amount": 12345678901234567.89}])
    got = [errors[0][2] for errors in invalid.values()]
    assert got == [
        '100.5 is a JSON number; write amounts as text, like "1250.50", so that no digit is lost',
        '1.2345678901234568e+16 is a JSON number; write amounts as text, like "1250.50", so that no digit is lost',
    ]


def test_a_negative_amount_is_told_that_its_sign_belongs_in_another_field(folder):
    # An export that books a refund as -5 was told "is not a valid amount: up to 15 digits", of
    # a one-digit number: the number is fine, the sign is what the schema says another way.
    lines = [{**GOOD, "amount": "-5"}, {**GOOD, "id": "D2", "amount": "-1.5.0"}]
    _code, invalid = _invalid(folder, "donation", lines)
    assert invalid[1] == [
        (
            "amount",
            "minimum",
            '"-5" is below zero: amounts are written without a sign; a refund is a donation with status refunded,'
            " money out of an account a bank line with direction debit",
        )
    ]
    # A minus before what is no amount anyway is told what an amount is.
    assert invalid[2][0][1:] == (
        "pattern",
        '"-1.5.0" is not a valid amount: up to 15 digits, and at most 5 decimals after a point, like 1250.50',
    )
    base = {
        "id": "B1",
        "association_id": "A1",
        "sector": "food_security",
        "governorate": "SY01",
        "distributed_at": "2026-10-01T10:00:00+03:00",
    }
    _code, invalid = _invalid(folder, "distribution", [{**base, "quantity": "-3"}])
    assert invalid[1] == [("quantity", "minimum", '"-3" is below zero: a quantity is written without a sign, as what was delivered')]


def test_a_time_without_its_offset_and_a_date_written_another_way_are_told_what_is_expected(folder):
    # '"2026-10-01T10:00:00" is not a "date-time"' left an association's IT staff guessing: it
    # is one, but without the offset that says which hour of the world it was.
    _code, invalid = _invalid(folder, "donation", [{**GOOD, "donated_at": "2026-10-01T10:00:00"}])
    assert invalid == {
        1: [
            (
                "donated_at",
                "format",
                '"2026-10-01T10:00:00" is not a valid datetime: a date and time with its UTC offset, '
                "like 2026-10-01T10:00:00+03:00 (Z for UTC)",
            )
        ]
    }
    program = {"id": "P1", "association_id": "A1", "status": "implementation", "title_ar": "سلة غذائية", "start_date": "01/10/2026"}
    _code, invalid = _invalid(folder, "program", [program])
    assert invalid[1] == [
        ("start_date", "format", '"01/10/2026" is not a valid date: a calendar date written year-month-day, like 2026-10-01')
    ]


def test_a_value_not_among_the_allowed_ones_is_told_the_nearest_and_a_short_list_whole(folder):
    # 'is not one of "AED", "AFN" or 153 other candidates' told whoever typed SYR (Syria's country
    # code) nothing of SYP; and of five channels it named two.
    lines = [
        {**GOOD, "currency": "SYR"},
        {**GOOD, "id": "D2", "channel": "Cash"},
        {**GOOD, "id": "D3", "channel": "bank"},
        {**GOOD, "id": "D4", "currency": "ل.س"},
    ]
    _code, invalid = _invalid(folder, "donation", lines)
    assert invalid[4] == [("currency", "enum", '"ل.س" is not one of "AED", "AFN" or 153 other candidates; did you mean "SYP"?')]
    assert invalid[1] == [("currency", "enum", '"SYR" is not one of "AED", "AFN" or 153 other candidates; did you mean "SYP"?')]
    five = '"platform", "bank_transfer", "cash", "direct" or "mobile"'
    assert invalid[2] == [("channel", "enum", f'"Cash" is not one of {five}; did you mean "cash"?')]
    assert invalid[3] == [("channel", "enum", f'"bank" is not one of {five}; did you mean "bank_transfer"?')]
    # A long value is no mistyped code: it is named by its start, and no guess is made.
    _code, invalid = _invalid(folder, "donation", [{**GOOD, "currency": "SYP" * 40_000}])
    (problem,) = invalid[1]
    assert problem[2].startswith('"SYPSYP') and "(120000 characters)" in problem[2] and "did you mean" not in problem[2]


def test_a_field_the_schema_lacks_is_named_at_its_own_path_with_the_one_it_meant(folder):
    # "Additional properties are not allowed ('accounts' was unexpected)", said of the donor as
    # a whole (of "(record)" at the top), left the sender to find which field and what instead.
    lines = [
        {**GOOD, "amout": "100.5"},
        {**GOOD, "id": "D2", "donor": {"name": "سارة", "accounts": ["DE89370400440532013000"]}},
        {**GOOD, "id": "D3", "رقم الإيصال": "R1"},
    ]
    _code, invalid = _invalid(folder, "donation", lines)
    assert invalid[1] == [("amout", "additionalProperties", '"amout" is not a field of donation; did you mean "amount"?')]
    assert invalid[2] == [("donor.accounts", "additionalProperties", '"accounts" is not a field of donor; did you mean "account"?')]
    assert invalid[3] == [("رقم الإيصال", "additionalProperties", '"رقم الإيصال" is not a field of donation')]
    # Inside a list, through the schema's shared definitions: an association's bank account.
    association = {"id": "A1", "name_ar": "جمعية", "org_type": "22", "status": "active", "governorate": "SY01"}
    association["bank_accounts"] = [{"scheme": "local", "value": "12345", "bnak": "بنك"}]
    _code, invalid = _invalid(folder, "association", [association])
    assert invalid[1] == [
        ("bank_accounts.0.bnak", "additionalProperties", '"bnak" is not a field of bank_accounts.0; did you mean "bank"?')
    ]


def test_figures_that_do_not_add_up_are_refused_with_the_figures_named(folder):
    # 6 women and 7 men out of 10 people reached: a slip in a field team's sheet, which stored
    # would swell what the platform reports as reached.
    base = {"association_id": "A1", "sector": "health", "governorate": "SY01", "distributed_at": "2026-10-01T10:00:00+03:00"}
    lines = [
        {**base, "id": "B1", "individuals": 10, "female": 6, "male": 7},
        {**base, "id": "B2", "individuals": 3, "households": 5},
        {**base, "id": "B3", "individuals": 10, "female": 4, "male": 6, "households": 2},  # adds up
        {**base, "id": "B4", "female": 6, "male": 7},  # no total given: nothing to compare with
    ]
    _code, got = _invalid(folder, "distribution", lines)
    assert got == {
        1: [("individuals", "consistency", "female (6) and male (7) make 13, more than individuals (10)")],
        2: [("households", "consistency", "households (5) are more than individuals (3): a household is at least one person")],
    }
    program = {"id": "P1", "association_id": "A1", "title_ar": "كسوة الشتاء", "status": "implementation", "start_date": "2026-05-01"}
    _code, got = _invalid(folder, "program", [{**program, "end_date": "2026-04-01"}])
    assert [message for _path, _rule, message in got[1]] == ["the program ends (2026-04-01) before it starts (2026-05-01)"]


def test_a_mistyped_iban_is_refused_and_a_local_account_number_is_not(folder):
    # A donor's IBAN with one digit wrong was stored as fact, and matching by a verified
    # account could never find the transfer it should.
    accounts = {
        "D1": "DE89370400440532013000",  # a valid German IBAN
        "D2": "DE89370400440532013001",  # its last digit mistyped
        "D3": "SY-AMAL-0012345678",  # Syria has no IBANs: a local number, as written
        "D4": "GB82WEST1234569876543X",  # the length of a British IBAN, letters where digits go
        "D5": "TR330006100519786457841326",
        "D6": "TR330006100591786457841326",  # two digits swapped
    }
    code, got = _invalid(folder, "donation", [{**GOOD, "id": k, "donor": {"name": "Sami", "account": v}} for k, v in accounts.items()])
    assert code == 1
    assert got == {
        2: [
            (
                "donor.account",
                "format",
                "DE89370400440532013001 has the form of a DE IBAN but its check digits do not add up: a character is mistyped or two are swapped",
            )
        ],
        4: [
            (
                "donor.account",
                "format",
                "GB82WEST1234569876543X has the length of a GB IBAN but not its structure (letters and digits in their places)",
            )
        ],
        6: [
            (
                "donor.account",
                "format",
                "TR330006100591786457841326 has the form of a TR IBAN but its check digits do not add up: a character is mistyped or two are swapped",
            )
        ],
    }


def test_an_association_account_declared_an_iban_must_be_a_whole_iban(folder):
    # With scheme iban an IBAN a character short was taken for a local account number.
    accounts = [
        ("iban", "DE89370400440532013000"),  # a valid German IBAN
        ("iban", "DE8937040044053201300"),  # a digit missing
        ("iban", "SY-AMAL-0012345678"),  # a local number declared an IBAN
        ("iban", "SY21000000000000000000"),  # Syria has no IBANs
        ("local", "DE8937040044053201300"),  # declared local: taken as written
        ("iban", "DE89370400440532013001"),  # the length and shape, a digit mistyped
    ]
    lines = [
        {
            "id": f"a{n}",
            "name_ar": "جمعية الأمل",
            "governorate": "SY01",
            "status": "active",
            "bank_accounts": [{"scheme": scheme, "value": value}],
        }
        for n, (scheme, value) in enumerate(accounts, start=1)
    ]
    code, got = _invalid(folder, "association", lines)
    assert code == 1
    assert got == {
        2: [
            (
                "bank_accounts.0.value",
                "format",
                "DE8937040044053201300 is declared an IBAN (scheme iban) but has 21 characters; a DE IBAN has 22: one is missing or extra",
            )
        ],
        3: [
            (
                "bank_accounts.0.value",
                "format",
                "SY-AMAL-0012345678 is declared an IBAN (scheme iban) but is not one: two letters of a country, two check digits, then the account",
            )
        ],
        4: [
            (
                "bank_accounts.0.value",
                "format",
                "SY21000000000000000000 is declared an IBAN (scheme iban) but SY has no IBANs; give its scheme as local",
            )
        ],
        6: [
            (
                "bank_accounts.0.value",
                "format",
                "DE89370400440532013001 has the form of a DE IBAN but its check digits do not add up: a character is mistyped or two are swapped",
            )
        ],
    }


def test_validate_csv_with_dotted_nested_columns_and_pcodes(folder):
    folder.write_csv(
        "a.csv",
        ["id", "name_ar", "governorate", "governorates_served", "status", "sectors"],
        [
            ["a1", "جمعية الأمل", "SY01", "SY01;SY14", "active", "health;education"],
            ["a2", "جمعية", "SY.01", "SY15", "active", ""],
            ["a3", "جمعية", "SY02", "", "open", "cooking"],
        ],
    )
    r = folder.hub("validate", "association", "a.csv", "--json")
    assert r.code == 1
    got = {i["line"]: sorted((e["path"], e["rule"]) for e in i["errors"]) for i in json.loads(r.out)["invalid"]}
    assert got == {
        3: [("governorate", "pattern"), ("governorates_served.0", "pattern")],
        4: [("sectors.0", "enum"), ("status", "enum")],
    }
    # A column the schema lacks is named with the one it likely meant.
    folder.write_csv("b.csv", ["id", "name_ar", "status", "governorate", "governorat"], [["a1", "جمعية", "active", "SY01", "SY02"]])
    [line] = json.loads(folder.hub("validate", "association", "b.csv", "--json").out)["invalid"]
    assert line["errors"] == [
        {
            "path": "governorat",
            "rule": "additionalProperties",
            "message": "column 'governorat' is not a field of association; did you mean 'governorate'?",
        }
    ]


def test_validate_xlsx_and_a_clean_file_exits_0(folder):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(["id", "association_id", "amount", "currency", "donated_at", "channel", "status", "donor.name"])
    ws.append(["D1", "A1", "100", "SYP", "2026-10-01T10:00:00+03:00", "cash", "received", "سامي"])
    wb.save(folder.path / "d.xlsx")
    r = folder.hub("validate", "donation", "d.xlsx", "--json")
    assert r.code == 0, r.out + r.err
    assert json.loads(r.out) == {"entity": "donation", "file": "d.xlsx", "records": 1, "valid": 1, "invalid": []}
    r = folder.hub("validate", "donation", "d.xlsx")
    assert r.code == 0 and "1 valid, 0 invalid" in r.out


def test_validate_unknown_format_is_a_usage_error(folder):
    folder.write("d.txt.gz", "x")
    r = folder.hub("validate", "donation", "d.txt.gz")
    assert r.code == 2 and "cannot read files of type .gz" in r.err
    (folder.path / "exports.csv").mkdir()  # a folder named like a file
    r = folder.hub("validate", "donation", "exports.csv")
    assert r.code == 2 and "exports.csv: is a folder, not a file" in r.err and "Traceback" not in r.err


def test_an_error_names_a_long_value_by_its_start_and_length_not_all_of_it(folder):
    long_name = "فاطمة " * 2000  # 12,000 characters, over the schema's limit
    folder.write("d.jsonl", json.dumps({**GOOD, "donor": {"name": long_name}}, ensure_ascii=False) + "\n")
    r = folder.hub("validate", "donation", "d.jsonl", "--json")
    assert r.code == 1
    (error,) = json.loads(r.out)["invalid"][0]["errors"]
    assert (error["path"], error["rule"]) == ("donor.name", "maxLength")
    assert error["message"].startswith('"فاطمة فاطمة') and "(12000 characters)" in error["message"]
    assert len(error["message"]) < 200
