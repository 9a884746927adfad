"""Declarative mapping: the conversions association exports need, every problem reported."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.errors import ConfigError, RecordError
from hub.mapping import compile_mapping
from hub.places import governorate_code
from hub.text import matching_key, normalize_digits


def apply(spec, row, **kw):
    return compile_mapping(spec, **kw).apply(row)


@pytest.mark.parametrize(
    ("raw", "sep", "want"),
    [
        ("1,250,000", ".", "1250000"),
        ("1.250.000,50", ",", "1250000.5"),
        ("١٢٬٥٠٠٫٧٥", ".", "12500.75"),
        ("۱۲۳", ".", "123"),
        (" 0075.500 ", ".", "75.5"),
        ("\u200f2500\u200e", ".", "2500"),
        ("0.00", ".", "0"),
        ("1 250 000,5", ",", "1250000.5"),
        ("- 500", ".", "-500"),
    ],
)
def test_decimal_conversions(raw, sep, want):
    assert apply({"a": {"column": "x", "type": "decimal", "decimal_separator": sep}}, {"x": raw}) == {"a": want}


@pytest.mark.parametrize(
    ("raw", "kind", "message"),
    [
        # A spreadsheet's scientific notation has already rounded the digits away: 1.23457E+11
        # was stored as 123457000000.
        ("1.23457E+11", "decimal", "'1.23457E+11' is in scientific notation; write the number in full"),
        ("1e5", "decimal", "in scientific notation"),
        ("1_000", "decimal", "'1_000' is not a number"),
        ("NaN", "decimal", "'NaN' is not a number"),
        # Expanding this one took 22 seconds, from one cell; one more digit takes hours.
        ("1e999999", "integer", "'1e999999' is in scientific notation"),
        ("1" * 40, "integer", "has more than 30 digits"),
        ("12.5", "integer", "'12.5' is not a whole number"),
        # A separator out of place is not taken out: '2,50' (a decimal comma) was stored as 250,
        # and '1.234,50' as 1.2345, both a hundred times off.
        ("2,50", "decimal", "'2,50' has a comma that does not stand between thousands (1,250,000); if the comma is the decimal point, set"),
        ("1.234,50", "decimal", "'1.234,50' has a comma that does not stand between thousands"),
        ("1,2345", "decimal", "does not stand between thousands"),
        ("1,5", "integer", "'1,5' has a comma that does not stand between thousands (1,250,000)"),
        ("ألف ليرة", "decimal", "'ألف ليرة' is not a number"),  # words are not a number, whatever their spaces
        ("1,000 ل.س", "decimal", "'1,000 ل.س' is not a number"),
    ],
)
def test_numbers_in_other_notations_are_refused_with_the_reason(raw, kind, message):
    with pytest.raises(RecordError) as exc:
        apply({"a": {"column": "x", "type": kind}}, {"x": raw})
    [problem] = exc.value.problems
    assert (problem.path, problem.rule) == ("a", kind) and message in problem.message


def test_a_point_out_of_place_in_a_decimal_comma_column_is_refused():
    # '1,234.50' read where the comma is the decimal point was 1.2345.
    with pytest.raises(RecordError) as exc:
        apply({"a": {"column": "x", "type": "decimal", "decimal_separator": ","}}, {"x": "1,234.50"})
    [problem] = exc.value.problems
    assert problem.message == (
        "'1,234.50' has a point that does not stand between thousands (1.250.000,50); "
        "if the point is the decimal point, set decimal_separator: '.' for this column"
    )


def test_numbers_keep_every_digit_and_workbook_floats_read_as_written():
    # Decimal.normalize() rounds to 28 digits; the shortest form is made on the text instead.
    long = "١٢٣٤٥٦٧٨٩٠١٢٣٤٥٦٧٨٩٠١٢٣٤٥٦٧٨٩٠١٢٫٥"
    assert apply({"a": {"column": "x", "type": "decimal"}}, {"x": long}) == {"a": "12345678901234567890123456789012.5"}
    # A workbook or JSON float: repr() writes 1e-05, which is not a number anybody typed.
    assert apply({"a": {"column": "x", "type": "decimal"}}, {"x": 0.00001}) == {"a": "0.00001"}
    assert apply({"a": {"column": "x", "type": "decimal"}}, {"x": 2500.0}) == {"a": "2500"}


def test_a_spreadsheet_day_number_where_a_date_belongs_is_named_with_its_day():
    # A date column formatted as a number exports 46054; it is refused (it may be a receipt
    # number), but the message says which day it would be and what to change.
    with pytest.raises(RecordError) as exc:
        apply({"d": {"column": "x", "type": "date", "format": "%d/%m/%Y"}}, {"x": 46054})
    assert exc.value.problems[0].message == (
        "'46054' is not a date in the format %d/%m/%Y; 46054 looks like a spreadsheet's day number (2026-02-01): format the column as a date"
    )


def test_dates_with_declared_formats_arabic_digits_and_zone():
    spec = {
        "d": {"column": "x", "type": "datetime", "format": ["%d/%m/%Y", "%Y.%m.%d %H:%M"]},
        "day": {"column": "y", "type": "date", "format": "%d-%m-%Y"},
    }
    assert apply(spec, {"x": "٠٣/٠١/٢٠٢٦", "y": "31-12-2025"}) == {
        "d": "2026-01-03T00:00:00+03:00",
        "day": "2025-12-31",
    }
    assert apply(spec, {"x": "2026.01.03 14:30", "y": "2025-12-31"})["d"] == "2026-01-03T14:30:00+03:00"
    assert apply(spec, {"x": "2026-01-03T10:00:00Z", "y": ""}) == {"d": "2026-01-03T10:00:00+00:00"}
    assert apply({"d": {"column": "x", "type": "datetime", "tz": "Europe/Berlin"}}, {"x": "2026-07-01 09:00"}) == {
        "d": "2026-07-01T09:00:00+02:00"
    }


@pytest.mark.parametrize(
    ("written", "day"),
    [
        ("5 تشرين الأول 2026", "2026-10-05"),  # the Levantine names, as a Syrian long date shows them
        ("١٢ آذار ٢٠٢٦", "2026-03-12"),
        ("12 اذار 2026", "2026-03-12"),  # written without the madda
        ("1 كانون الثاني 2026", "2026-01-01"),
        ("31 كانون الأول 2025", "2025-12-31"),
        ("3 أبريل 2026", "2026-04-03"),  # the names used elsewhere in the Arab world
        ("3 ابريل 2026", "2026-04-03"),  # not August ("اب") followed by letters
        ("9 آب 2026", "2026-08-09"),
        ("5 October 2026", "2026-10-05"),
    ],
)
def test_a_date_format_that_names_the_month_reads_arabic_month_names(written, day):
    # '%d %B %Y' read English names only: a long date exported from an Arabic spreadsheet was refused.
    assert apply({"d": {"column": "x", "type": "date", "format": "%d %B %Y"}}, {"x": written}) == {"d": day}


def test_an_arabic_word_that_is_no_month_is_still_refused():
    with pytest.raises(RecordError) as exc:
        apply({"d": {"column": "x", "type": "date", "format": "%d %B %Y"}}, {"x": "5 تشرين 2026"})
    assert exc.value.problems[0].message == "'5 تشرين 2026' is not a date in the format %d %B %Y"


def test_value_maps_match_arabic_spellings_and_defaults():
    spec = {"c": {"column": "x", "map": {"تحويل بنكي": "bank_transfer", "نقدي": "cash"}, "default": "direct"}}
    assert apply(spec, {"x": "تحويل بنكى"}) == {"c": "bank_transfer"}, "alef maqsura and yaa are one letter for matching"
    assert apply(spec, {"x": "نَقْدي"}) == {"c": "cash"}, "diacritics do not matter"
    assert apply(spec, {"x": "شيك"}) == {"c": "direct"}
    assert apply(spec, {"x": ""}) == {"c": "direct"}


def test_constants_concatenation_nested_targets_and_extra():
    spec = {"donor.name": {"columns": ["first", "last"], "join": " "}, "currency": {"const": "SYP"}, "id": "n"}
    got = apply(spec, {"first": "محمد", "last": "الحلبي", "n": "7", "note": "كفالة", "empty": ""})
    assert got == {"donor": {"name": "محمد الحلبي"}, "currency": "SYP", "id": "7", "extra": {"note": "كفالة"}}
    assert "extra" not in apply(spec, {"first": "a", "n": "1", "note": "x"}, keep_unmapped=False)


def test_governorates_by_name_code_and_spelling():
    spec = {"g": {"column": "x", "type": "governorate"}, "gs": {"column": "y", "type": "list", "items": "governorate"}}
    assert apply(spec, {"x": "إدلب", "y": "حلب، Homs; ريف دمشق"}) == {"g": "SY07", "gs": ["SY02", "SY04", "SY03"]}
    assert governorate_code("Al-Hasakeh") == governorate_code("الحسكه") == governorate_code("hasakah") == "SY08"
    assert governorate_code("Deir ez-Zor") == governorate_code("دير الزور") == "SY09"
    assert governorate_code("SY-QU") == "SY14"
    assert governorate_code("SY.01") is None, "a GeoNames code is never guessed"
    assert governorate_code("بيروت") is None
    # Written with the word for governorate, as forms and letterheads do.
    assert governorate_code("محافظة حلب") == governorate_code("Aleppo Governorate") == governorate_code("Governorate of Aleppo") == "SY02"
    assert governorate_code("محافظة ريف دمشق") == "SY03" and governorate_code("Homs gov.") == "SY04"
    assert governorate_code("محافظة") is None and governorate_code("محافظة بيروت") is None


def test_sectors_by_arabic_or_english_name_as_associations_write_them():
    # A distributions sheet says صحة or الأمن الغذائي; the platform holds health, food_security.
    spec = {"s": {"column": "x", "type": "sector"}, "ss": {"column": "y", "type": "list", "items": "sector"}}
    assert apply(spec, {"x": "صحة", "y": "الامن الغذائي؛ WASH، كفالة أيتام"}) == {
        "s": "health",
        "ss": ["food_security", "wash", "orphan_care"],
    }
    assert apply(spec, {"x": "Multi-sector", "y": "child_protection"}) == {"s": "multi_sector", "ss": ["child_protection"]}
    with pytest.raises(RecordError) as exc:
        apply(spec, {"x": "طبخ", "y": ""})
    [problem] = exc.value.problems
    assert (problem.path, problem.rule) == ("s", "sector") and "hub schema sectors" in problem.message


def test_no_sector_name_stands_for_two_sectors():
    from hub.schema import sector_crosswalk
    from hub.text import name_keys

    seen: dict[str, str] = {}
    for code, entry in sector_crosswalk().items():
        for name in (code, entry["en"], entry["ar"], *entry.get("also", ())):
            for key in name_keys(name):
                assert seen.setdefault(key, code) == code, f"{name!r} reads as {seen[key]} and {code}"


def test_currencies_as_associations_write_them_read_as_their_iso_codes():
    # An accounting export says ل.س, ليرة سورية or $ in its currency column; the schema holds SYP, USD.
    spec = {"c": {"column": "x", "type": "currency"}}
    written = {
        "SYP": ["SYP", "syp", "ل.س", "ل.س.", "ل. س", "ليرة سورية", "ليرة سوريّة", "الليرة السورية", "ليرة", "S.P.", "SP"],
        "USD": ["usd", "$", "US$", "دولار", "دولار أمريكي", "دولار امريكي", "US dollar"],
        "EUR": ["€", "يورو", "Euro"],
        "TRY": ["₺", "TL", "ليرة تركية"],
        "SEK": ["SEK"],  # any ISO 4217 code the schema allows
    }
    for code, names in written.items():
        for name in names:
            assert apply(spec, {"x": name}) == {"c": code}, name
    for unknown in ("ريال", "دينار", "kr", "SYR", "ليرات ذهبية"):  # ambiguous, or not a currency: never guessed
        with pytest.raises(RecordError) as exc:
            apply(spec, {"x": unknown})
        [problem] = exc.value.problems
        assert (problem.path, problem.rule) == ("c", "currency") and "ISO 4217" in problem.message, unknown
        assert "or give the column a map: in the stream's mapping" in problem.message, "the way to read it anyway"


def test_no_currency_name_stands_for_two_currencies():
    from hub.currencies import CURRENCY_NAMES, currency_keys

    seen: dict[str, str] = {}
    for code, *names in CURRENCY_NAMES:
        for name in (code, *names):
            for key in currency_keys(name):
                assert seen.setdefault(key, code) == code, f"{name!r} reads as {seen[key]} and {code}"


def test_every_problem_of_a_row_is_reported_at_once():
    spec = {
        "a": {"column": "x", "type": "decimal"},
        "b": {"column": "y", "type": "integer"},
        "c": {"column": "z", "type": "date", "format": "%d/%m/%Y"},
    }
    with pytest.raises(RecordError) as exc:
        apply(spec, {"x": "ten", "y": "2.5", "z": "2026/12/31"})
    assert [(p.path, p.rule) for p in exc.value.problems] == [("a", "decimal"), ("b", "integer"), ("c", "date")]


def test_mapping_mistakes_are_config_errors_naming_the_key():
    with pytest.raises(ConfigError, match=r"streams\.s\.mapping\.amount\.type: unknown type 'money'"):
        compile_mapping({"amount": {"column": "x", "type": "money"}}, where="streams.s.mapping")
    with pytest.raises(ConfigError, match="unknown option"):
        compile_mapping({"amount": {"colum": "x"}}, where="m")
    with pytest.raises(ConfigError, match="unknown time zone"):
        compile_mapping({"d": {"column": "x", "type": "datetime", "tz": "Mars/Olympus"}}, where="m")


def test_text_keys_fold_arabic_forms_but_keep_display_text():
    assert matching_key("أحمد") == matching_key("احمد") == matching_key("إحمد")
    assert matching_key("حماة") == matching_key("حماه")
    assert matching_key("مـحـمـد") == matching_key("محمد")
    assert normalize_digits("\u200f٠١٢٣٤٥٦٧٨٩") == "0123456789"
    assert apply({"n": "x"}, {"x": "  أحمد الحلبي "}) == {"n": "أحمد الحلبي"}


def test_latin_text_folds_only_case_spaces_dashes_and_underscores():
    """Latin text takes a short way through matching_key; it must fold as the full way does."""
    latin = ("D0001234", "AM-1005", "  Damascus\t", "Al_Hasakeh", "deir-ez--zor")
    assert [matching_key(t) for t in latin] == ["d0001234", "am 1005", "damascus", "al hasakeh", "deir ez zor"]
    assert matching_key("Straße  Ab") == "strasse ab", "beyond ASCII, the full way: casefold"


# The generated ``apply`` and the plain-loop reference must agree on every row, including
# rows with empty cells, marks around values, non-text cells (spreadsheets) and bad values.
_SPEC = {
    "id": "receipt",
    "association_id": {"const": "assoc-1"},
    "donor.name": "donor",
    "donor.country": {"column": "country", "default": "SY"},
    "amount": {"column": "amount", "type": "decimal"},
    "donated_at": {"column": "date", "type": "date", "format": "%d/%m/%Y"},
    "channel": {"column": "how", "map": {"نقدي": "cash", "تحويل": "bank_transfer"}},
    "location": {"columns": ["town", "street"], "join": " - "},
    "households": {"column": "n", "type": "integer"},
}
_cells = st.one_of(
    st.none(),
    st.just(""),
    st.text(max_size=8),
    st.integers(-5, 10**6),
    st.decimals(allow_nan=False, allow_infinity=False, places=2).map(str),
    st.sampled_from(["نقدي", " تحويل\u200f", "31/12/2026", "٠٣/٠١/٢٠٢٦", "0125.50", "1,250", "x"]),
)
_rows = st.fixed_dictionaries(
    {},
    optional={c: _cells for c in ["receipt", "donor", "country", "amount", "date", "how", "town", "street", "n", "note"]},
)


def _outcome(fn, row):
    try:
        return ("ok", fn(row))
    except RecordError as exc:
        return ("error", [p.as_dict() for p in exc.problems], exc.partial)


@settings(max_examples=400, deadline=None)
@given(row=_rows, keep=st.booleans())
def test_generated_apply_agrees_with_the_reference(row, keep):
    mapping = compile_mapping(_SPEC, keep_unmapped=keep)
    assert _outcome(mapping.apply, row) == _outcome(mapping.apply_reference, row)


@settings(max_examples=400, deadline=None)
@given(whole=st.text("0123456789", min_size=1, max_size=9), frac=st.one_of(st.none(), st.text("0123456789", max_size=4)))
def test_plain_decimal_shortcut_agrees_with_decimal(whole, frac):
    raw = whole if frac is None else f"{whole}.{frac}"
    got = apply({"a": {"column": "x", "type": "decimal"}}, {"x": raw})["a"]
    want = format(Decimal(raw).normalize(), "f")
    assert got == ("0" if want in ("0", "-0") else want)
