"""Importing CSV and XLSX files: formats, column mapping, conversions, upsert, and bad rows kept apart."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from test_import_support import NOON, Crm, crm_fixture, errors, xlsx  # noqa: F401  (a fixture)

from metamodel.imports import ImportRefused


def test_a_good_csv_creates_every_row(crm: Crm) -> None:
    summary = crm.run("Contact", "name,email\nAnn,ann@x.test\nBob,bob@x.test\n")

    assert (summary.created, summary.failed, summary.errors) == (2, 0, [])
    assert crm.names() == ["Ann", "Bob"]


def test_a_byte_order_mark_is_ignored(crm: Crm) -> None:
    summary = crm.run("Contact", "\ufeffname,email\nAnn,ann@x.test\n")

    assert summary.created == 1
    assert crm.records("Contact")[0]["email"] == "ann@x.test"


def test_utf16_text_as_excel_saves_it_is_read(crm: Crm) -> None:
    summary = crm.run("Contact", "name\tscore\r\nJosé\t3\r\n".encode("utf-16"))

    assert summary.created == 1
    assert crm.names() == ["José"]


def test_semicolons_are_recognised_as_the_delimiter(crm: Crm) -> None:
    summary = crm.run("Contact", 'name;tags;score\n"Doe, Ann";vip, new;7\n')

    assert summary.created == 1
    record = crm.records("Contact")[0]
    assert (record["name"], record["tags"], record["score"]) == ("Doe, Ann", ["vip", "new"], 7)


def test_tabs_are_recognised_as_the_delimiter(crm: Crm) -> None:
    summary = crm.run("Contact", "name\tscore\nAnn\t3\n")

    assert summary.created == 1
    assert crm.records("Contact")[0]["score"] == 3


def test_headers_match_field_names_and_labels_in_any_case(crm: Crm) -> None:
    summary = crm.run("Contact", "FULL NAME,E-Mail,Score\nAnn,ann@x.test,4\n")

    assert summary.created == 1, errors(summary)
    record = crm.records("Contact")[0]
    assert (record["name"], record["email"], record["score"]) == ("Ann", "ann@x.test", 4)


def test_text_cells_become_typed_values(crm: Crm) -> None:
    csv = ('name,vip,birthday,seen_at,extra,tags\n'
           'Ann,yes,2001-02-03,2026-03-01 10:00,"{""size"": 42}","a, b"\n')
    summary = crm.run("Contact", csv)

    assert summary.failed == 0, errors(summary)
    record = crm.records("Contact")[0]
    assert record["vip"] is True
    assert record["birthday"] == date(2001, 2, 3)
    assert record["seen_at"] == datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
    assert record["extra"] == {"size": 42}
    assert record["tags"] == ["a", "b"]


def test_an_empty_cell_leaves_the_default_on_create(crm: Crm) -> None:
    crm.run("Contact", "name,score,vip\nAnn,,\n")

    record = crm.records("Contact")[0]
    assert (record["score"], record["vip"]) == (0, False)


def test_an_xlsx_sheet_imports_with_the_types_excel_gives(crm: Crm) -> None:
    content = xlsx([["name", "score", "birthday", "seen_at", "phone", "vip"],
                    ["Ann", 5, datetime(2001, 2, 3), NOON, 4915112345, True],
                    [None, None, None, None, None, None],
                    ["Bob", 6.0, None, None, None, False]])

    summary = crm.run("Contact", content, "people.xlsx")

    assert (summary.created, summary.failed) == (2, 0), errors(summary)
    ann = next(r for r in crm.records("Contact") if r["name"] == "Ann")
    assert ann["score"] == 5
    assert ann["birthday"] == date(2001, 2, 3)
    assert ann["seen_at"] == NOON.replace(tzinfo=UTC)
    assert ann["phone"] == "4915112345"
    assert ann["vip"] is True


def test_xlsx_row_errors_carry_the_excel_row_number(crm: Crm) -> None:
    content = xlsx([["name", "score"], ["Ann", 1], [None, None], ["Bob", "lots"]])

    summary = crm.run("Contact", content, "people.xlsx")

    assert errors(summary) == [(4, "score", "must be a whole number")]
    assert crm.names() == ["Ann"]


def test_an_explicit_mapping_fills_fields_from_other_columns(crm: Crm) -> None:
    summary = crm.run("Contact", "Kunde,Mail,Notiz\nAnn,ann@x.test,call back\n",
                      mapping={"Kunde": "name", "Mail": "email", "Notiz": ""})

    assert summary.created == 1, errors(summary)
    assert crm.records("Contact")[0]["email"] == "ann@x.test"
    assert ("Notiz", "ignored by the mapping") in summary.skipped_columns


def test_a_mapping_to_an_unknown_field_is_refused(crm: Crm) -> None:
    with pytest.raises(ImportRefused) as refused:
        crm.run("Contact", "Kunde\nAnn\n", mapping={"Kunde": "nmae"})

    assert refused.value.code == "MM.E605"
    assert "name" in refused.value.hint


def test_a_mapping_of_a_missing_column_is_refused(crm: Crm) -> None:
    with pytest.raises(ImportRefused) as refused:
        crm.run("Contact", "name\nAnn\n", mapping={"Kunde": "name"})

    assert refused.value.code == "MM.E605"


def test_unknown_columns_are_refused_before_any_row_is_written(crm: Crm) -> None:
    with pytest.raises(ImportRefused) as refused:
        crm.run("Contact", "name,emial,colour\nAnn,a@x.test,red\n")

    assert refused.value.code == "MM.E604"
    assert '"emial"' in refused.value.message and '"colour"' in refused.value.message
    assert '"email"' in refused.value.hint
    assert crm.names() == []


def test_unknown_columns_can_be_ignored_on_purpose(crm: Crm) -> None:
    summary = crm.run("Contact", "name,colour\nAnn,red\n", ignore_unknown=True)

    assert summary.created == 1
    assert summary.skipped_columns == (("colour", "not a field of Contact"),)


def test_a_column_without_a_header_is_skipped_and_said_so(crm: Crm) -> None:
    summary = crm.run("Contact", "name,,score\nAnn,x,1\n")

    assert summary.created == 1
    assert summary.skipped_columns == (("(column 2)", "no header"),)


def test_data_beyond_the_last_header_is_a_row_error_even_in_a_wide_sheet(crm: Crm) -> None:
    summary = crm.run("Contact", xlsx([["name", None, None], ["Ann", None, None], ["Bob", None, "x"]]),
                      "wide.xlsx")

    assert summary.created == 1
    assert errors(summary) == [(3, "", "has more cells than the header has columns")]


def test_two_columns_for_one_field_are_refused(crm: Crm) -> None:
    with pytest.raises(ImportRefused) as refused:
        crm.run("Contact", "name,Full name\nAnn,Ann\n")

    assert refused.value.code == "MM.E607"


def test_an_empty_file_is_refused(crm: Crm) -> None:
    with pytest.raises(ImportRefused) as refused:
        crm.run("Contact", "")

    assert refused.value.code == "MM.E603"


def test_an_empty_sheet_is_refused(crm: Crm) -> None:
    with pytest.raises(ImportRefused) as refused:
        crm.run("Contact", xlsx([]), "empty.xlsx")

    assert refused.value.code == "MM.E603"


def test_a_header_without_rows_imports_nothing(crm: Crm) -> None:
    summary = crm.run("Contact", "name,email\n")

    assert (summary.rows, summary.created) == (0, 0)


@pytest.mark.parametrize("name", ["data.txt", "data.xls", "data"])
def test_a_wrong_extension_is_refused(crm: Crm, name: str) -> None:
    with pytest.raises(ImportRefused) as refused:
        crm.run("Contact", "name\nAnn\n", name)

    assert refused.value.code == "MM.E602"


def test_a_file_that_is_not_utf8_is_refused_before_any_row_is_written(crm: Crm) -> None:
    content = "name\nAnn\nJos\xe9\n".encode("latin-1")

    with pytest.raises(ImportRefused) as refused:
        crm.run("Contact", content)

    assert refused.value.code == "MM.E601"
    assert crm.names() == []


def test_a_csv_named_xlsx_is_refused_as_not_a_workbook(crm: Crm) -> None:
    with pytest.raises(ImportRefused) as refused:
        crm.run("Contact", "name\nAnn\n", "people.xlsx")

    assert refused.value.code == "MM.E601"


def test_every_refusal_code_is_described() -> None:
    from metamodel.imports import CODES
    from metamodel.imports import errors as codes

    used = {v for k, v in vars(codes).items() if k.isupper() and isinstance(v, str) and v.startswith("MM.")}
    assert used == set(CODES) and all(CODES.values())


def test_an_unknown_entity_is_refused(crm: Crm) -> None:
    with pytest.raises(Exception) as refused:
        crm.run("Nobody", "name\nAnn\n")

    assert getattr(refused.value, "code", "") == "NOT_FOUND"


def test_numbers_and_stage_codes_go_into_a_pipeline_entity(crm: Crm) -> None:
    summary = crm.run("Deal", "title,amount,stage\nBig,1234.50,won\nSmall,10,\n")

    assert summary.created == 2, errors(summary)
    deals = {r["title"]: r for r in crm.records("Deal")}
    assert deals["Big"]["amount"] == Decimal("1234.50") and deals["Big"]["stage"] == "won"
    assert deals["Small"]["stage"] == "new"


def test_computed_and_platform_columns_are_skipped(crm: Crm) -> None:
    summary = crm.run("Deal", "id,title,margin,created_at\n7,Big,1.00,2020-01-01T00:00:00+00:00\n")

    assert summary.created == 1, errors(summary)
    skipped = dict(summary.skipped_columns)
    assert set(skipped) == {"id", "margin", "created_at"}
