"""Statement parsing: camt.053/054 across versions, MT940, and hostile or broken files."""

from __future__ import annotations

import json

import pytest

from hub.errors import InputError
from hub.statements import read_statement
from tests.reconcile.builders import Line, batch_entry, camt053, camt054, mt940


def _write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_camt053_v02_entries_batches_and_amount_sources(tmp_path):
    lines = [
        Line("TX-1", "100.00", name="Sami Haddad", iban="DE89 3704 0044 0532 0130 00", ustrd=["AMAL-1001", "شكراً"], e2e="E2E-1"),
        Line("TX-2", "25.50", direction="DBIT", name="Bank", ustrd=["fees"]),
    ]
    path = _write(tmp_path, "s.xml", camt053(lines, extra_entries=batch_entry(), opening="1000", closing="1374.50"))
    [st] = read_statement(path)
    assert (st.id, st.account, st.balance_problem()) == ("STMT-OCT", "SY0012345678", None)
    got = {t["id"]: t for t in st.transactions}
    assert got["TX-1"] == {
        "id": "TX-1",
        "account": "SY0012345678",
        "booking_date": "2026-10-10",
        "value_date": "2026-10-10",
        "amount": "100",
        "currency": "USD",
        "direction": "credit",
        "status": "booked",
        "reversal": False,
        "statement_id": "STMT-OCT",
        "counterparty": {"name": "Sami Haddad", "account": "DE89370400440532013000"},
        "end_to_end_id": "E2E-1",
        "remittance": "AMAL-1001 شكراً",
    }
    assert got["TX-2"]["direction"] == "debit" and got["TX-2"]["counterparty"] == {"name": "Bank"}
    assert [(i, got[i]["amount"], got[i]["currency"]) for i in ("B9-1", "B9-2", "B9-3")] == [
        ("B9-1", "100", "EUR"),
        ("B9-2", "120", "EUR"),
        ("B9-3", "80", "EUR"),
    ]
    assert got["B9-2"]["counterparty"] == {"name": "Hassan Family"}, "UltmtDbtr when Dbtr has no name"
    assert got["B9-3"]["remittance"] == "part one part two"
    assert "end_to_end_id" not in got["TX-2"], "NOTPROVIDED means none"


def test_camt054_v08_status_codes_wrapped_names_and_structured_reference(tmp_path):
    lines = [
        Line("N-1", "40", status="BOOK", name="Omar Khaled", cref="RF18AMAL1009"),
        Line("N-2", "60", status="PDNG", name="Rana"),
        Line("N-3", "80", direction="DBIT", reversal=True, e2e="E2E-13", name="Lina"),
    ]
    [st] = read_statement(_write(tmp_path, "n.xml", camt054(lines)))
    got = {t["id"]: t for t in st.transactions}
    assert got["N-1"]["counterparty"] == {"name": "Omar Khaled"} and got["N-1"]["creditor_reference"] == "RF18AMAL1009"
    assert got["N-2"]["status"] == "pending"
    assert (got["N-3"]["reversal"], got["N-3"]["direction"], got["N-3"]["counterparty"]) == (True, "debit", {"name": "Lina"})


def test_a_statement_that_does_not_add_up_is_reported(tmp_path):
    path = _write(tmp_path, "s.xml", camt053([Line("A", "10")], opening="100", closing="200"))
    assert "a line is missing or doubled" in read_statement(path)[0].balance_problem()


def test_mt940_lines_references_reversals_and_transliterated_names(tmp_path):
    text = mt940(
        [
            ("2610101010C100,00NTRFNONREF//BR-1", "166?00GUTSCHRIFT?20AMAL-1001?21thanks?31DE89370400440532013000?32MOHAMMAD ALI"),
            ("2610111011RC80,00NTRFNONREF//BR-2", "RUECKUEBERWEISUNG EREF+E2E-13"),
            ("2610121012D5,00NCHGNONREF", "FEES"),
            ("2610131013C40,00NTRFAMAL-1002//BR-4", "TRANSFER"),  # the payer's reference before //
        ],
        opening="0,00",
        closing="55,00",
    )
    [st] = read_statement(_write(tmp_path, "s.sta", text))
    t = st.transactions
    assert (t[3]["id"], t[3]["end_to_end_id"]) == ("BR-4", "AMAL-1002")
    assert "end_to_end_id" not in t[0], "NONREF is no reference"
    assert (t[0]["id"], t[0]["amount"], t[0]["direction"], t[0]["remittance"]) == ("BR-1", "100", "credit", "AMAL-1001 thanks")
    assert t[0]["counterparty"] == {"name": "MOHAMMAD ALI", "account": "DE89370400440532013000"}
    assert (t[1]["reversal"], t[1]["direction"], t[1]["end_to_end_id"]) == (True, "debit", "E2E-13")
    assert t[2]["id"].startswith("FP-"), "no bank reference: a fingerprint"
    assert st.balance_problem() is None


@pytest.mark.parametrize(
    ("encoding", "remittance"),
    [
        ("cp1256", "تبرع من سامي أحمد للأيتام"),  # a Syrian bank's export
        ("cp1252", "Überweisung für Waisen, Jörg Käßler"),  # a European bank's
        ("utf-8", "تبرع من سامي أحمد"),
    ],
)
def test_mt940_remittance_text_is_read_in_the_code_page_it_was_written_in(tmp_path, encoding, remittance):
    # Read as Windows-1252 whatever it was, an Arabic remittance came out as "ÊÈÑÚ ãä ÓÇãí"
    # and matched no donor's name.
    text = mt940([("2610101010C100,00NTRFNONREF//BR-1", remittance)], closing="100,00")
    path = tmp_path / "s.sta"
    path.write_bytes(text.encode(encoding))
    [st] = read_statement(path)
    assert st.transactions[0]["remittance"] == remittance


def test_mt940_encoding_can_be_named(tmp_path):
    text = mt940([("2610101010C100,00NTRFNONREF//BR-1", "سامي")], closing="100,00")
    path = tmp_path / "s.sta"
    path.write_bytes(text.encode("cp1256"))
    assert read_statement(path, encoding="windows-1256")[0].transactions[0]["remittance"] == "سامي"
    with pytest.raises(InputError, match="s.sta line 6: the file is not valid utf-8"):
        read_statement(path, encoding="utf-8")
    with pytest.raises(InputError, match="unknown encoding 'klingon'"):
        read_statement(path, encoding="klingon")


def test_a_damaged_utf8_mt940_is_refused_at_its_line_never_read_as_a_code_page(tmp_path):
    # Before, any byte that was not UTF-8 sent the whole file to Windows-1256: every Arabic
    # name in it turned to nonsense ("ط³ط§ظ…ظٹ") and matched no donor, without a word.
    lines = [(f"261010101{i}C100,00NTRFNONREF//BR-{i}", f"تبرع من سامي أحمد رقم {i}") for i in range(1, 6)]
    good = mt940(lines, closing="500,00").encode("utf-8")
    cut = good[: good.index("رقم 3".encode()) + 1]  # an interrupted download: the middle of a letter
    with pytest.raises(InputError, match=r"cut.sta line \d+: the file ends in the middle of a character: it was cut short"):
        read_statement(_write_bytes(tmp_path, "cut.sta", cut))
    at = good.index("رقم 4".encode())
    mixed = good[:at] + "رقم".encode("cp1256") + good[at + len("رقم".encode()) :]  # one line from a Windows-1256 file
    line = good[:at].count(b"\n") + 1
    with pytest.raises(InputError, match=f"mixed.sta line {line}: the file is UTF-8 but this line is not"):
        read_statement(_write_bytes(tmp_path, "mixed.sta", mixed))


def _write_bytes(tmp_path, name: str, data: bytes):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_an_mt940_file_of_several_statements_keeps_each_lines_account(tmp_path):
    # One statement a day, or one per account, in one file. Each :20: block used to overwrite
    # the last one's header, so every line was put under the last block's account.
    first = mt940([("2610101010C100,00NTRFNONREF//A1", "first")], account="SY111", closing="100,00")
    second = mt940([("2610111011C50,00NTRFNONREF//B1", "second")], account="SY222", opening="500,00", closing="550,00")
    statements = read_statement(_write(tmp_path, "days.sta", first + second.replace(":20:MT-OCT", ":20:MT-NOV")))
    got = [(st.id, st.account, [(t["id"], t["account"], t["amount"]) for t in st.transactions]) for st in statements]
    assert got == [("MT-OCT", "SY111", [("A1", "SY111", "100")]), ("MT-NOV", "SY222", [("B1", "SY222", "50")])]
    assert [st.balance_problem() for st in statements] == [None, None]


def test_an_unreadable_mt940_line_is_named_in_words_without_the_parsers_dump(folder):
    folder.write("bad.sta", mt940([("2610101010CNTRFNONREF", "no amount")]))
    folder.write("long.sta", mt940([("2610101010C" + "9" * 40 + ",00NTRFNONREF", "too long")]))
    folder.write("d.csv", "id,association_id,amount,currency,donated_at,channel,status\n")
    bad = folder.hub("reconcile", "--statement", "bad.sta", "--donations", "d.csv")
    assert bad.code == 2 and "bad.sta line 5: the :61: field '2610101010CNTRFNONREF' is not in MT940 form" in bad.err
    assert "hint: a :61: line reads value date YYMMDD" in bad.err
    assert "(?P<" not in bad.err and "object at 0x" not in bad.err, "the parser's regular expressions and object reprs stay out"
    # The parser read the first 15 characters of a longer amount as the amount.
    long = folder.hub("reconcile", "--statement", "long.sta", "--donations", "d.csv")
    assert long.code == 2 and "long.sta line 5: the :61: amount 99999999999999999999... has 43 characters; MT940 allows 15" in long.err
    # A day that does not exist was "month must be in 1..12", with no line.
    folder.write("date.sta", mt940([("2613321332C100,00NTRFNONREF//B1", "bad month")]))
    date = folder.hub("reconcile", "--statement", "date.sta", "--donations", "d.csv")
    assert date.code == 2 and "date.sta line 5: the :61: value date 261332 is not a date (YYMMDD)" in date.err


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        (
            "laughs.xml",
            '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]><Document>&lol2;</Document>',
            "refused: the XML declares a DTD or entities",
        ),
        ("xxe.xml", '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]><Document>&x;</Document>', "refused"),
        ("broken.xml", "<Document><BkToCstmrStmt><Stmt>", "not well-formed XML"),
        (
            "other.xml",
            '<?xml version="1.0"?><Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.001.001.03"><CstmrCdtTrfInitn/></Document>',
            "not a camt.052/053/054 document",
        ),
        ("noamt.xml", camt053([Line("A", "x1")]), "amount 'x1' is not a number"),
        # An exponent was an internal decimal.Overflow; NaN was read as an amount.
        ("exponent.xml", camt053([Line("A", "1E+9999999")]), "entry 1: amount '1E+9999999' is in scientific notation"),
        ("nan.xml", camt053([Line("A", "NaN")]), "entry 1: amount 'NaN' is not a number"),
        ("balance.xml", camt053([Line("A", "10")], opening="1E+9999999"), "statement STMT-OCT balance OPBD: amount '1E+9999999'"),
        ("badbal.xml", camt053([Line("A", "10")], closing="12,5"), "balance CLBD: amount '12,5' is not a number"),
        ("noacct.sta", ":20:X\n:28C:1/1\n:60F:C261001USD0,00\n-\n", "no :25: account line"),
        ("junk.txt", "hello", "not a statement this hub reads"),
    ],
)
def test_malformed_and_hostile_statements_are_refused_clearly(tmp_path, name, text, message):
    with pytest.raises(InputError) as exc:
        read_statement(_write(tmp_path, name, text))
    assert message in str(exc.value) and name in str(exc.value)


def test_statement_connector_imports_once_and_reports_hostile_files(folder):
    folder.write("s.xml", camt053([Line("TX-1", "100", name="Sami"), Line("TX-2", "5", direction="DBIT")]))
    folder.write("hub.yaml", "store: sqlite:///hub.db\nconnections:\n  bank:\n    connector: statement\n    settings: {path: s.xml}\n")
    r = folder.hub("run", "bank", "--json")
    assert r.code == 0, r.err
    assert json.loads(r.out)["runs"][0]["inserted"] == 2
    assert json.loads(folder.hub("run", "bank", "--json").out)["runs"][0]["inserted"] == 0, "the same statement twice adds nothing"
    assert sorted(k for (k,) in folder.sql("select key from records")) == ["SY0012345678|TX-1", "SY0012345678|TX-2"]
    folder.write("s.xml", '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]><Document>&x;</Document>')
    r = folder.hub("run", "bank")
    assert r.code == 2 and "refused" in r.err and "Traceback" not in r.err


def test_a_camt_line_without_a_reference_keeps_its_id_in_an_overlapping_statement(tmp_path):
    gift = Line(None, "100", ustrd=["AMAL-1002"], booked="2026-10-12")
    fee = Line(None, "5", direction="DBIT", ustrd=["FEES"], booked="2026-10-12")
    [a] = read_statement(_write(tmp_path, "a.xml", camt053([Line(None, "50", booked="2026-10-08"), gift, fee, fee])))
    [b] = read_statement(_write(tmp_path, "b.xml", camt053([gift, fee, fee, Line(None, "70", booked="2026-10-20")])))
    ids_a, ids_b = [t["id"] for t in a.transactions], [t["id"] for t in b.transactions]
    assert ids_a[1:] == ids_b[:3], "the lines of the 12th: the same ids at other places"
    assert len(set(ids_a)) == 4 and len(set(ids_b)) == 4, "two fees that say the same are still two lines"
