"""Imports at the edges: broken quotes, dry runs across batches, formulas without values, blank lines
before the header, formula-looking text in CSV exports, and e-mail keys in any letter case."""

from __future__ import annotations

import csv
import io
import re
import zipfile

import pytest
from test_import_support import Crm, crm_fixture, errors, xlsx  # noqa: F401  (a fixture)

from metamodel.imports import ImportRefused, export_records
from metamodel.imports.convert import UNCOMPUTED, guard_formula, unguard_formula

# --- a quote never closed, or text after a closing quote --------------------------------------------------


def test_an_unclosed_quote_is_refused_with_its_line_before_any_row_is_written(crm: Crm) -> None:
    with pytest.raises(ImportRefused) as refused:
        crm.run("Contact", 'name,email\nAnn,a@x.test\n"unterminated,q@x.test\nZed,z@x.test\n')

    assert refused.value.code == "MM.E601"
    assert refused.value.place.line == 3 and "line 3" in refused.value.message
    assert crm.names() == []


def test_an_unclosed_quote_after_a_value_spanning_lines_is_placed_on_its_own_line(crm: Crm) -> None:
    with pytest.raises(ImportRefused) as refused:
        crm.run("Contact", 'name,email\n"two\nlines","open@x.test\nZed,z@x.test\n')

    assert refused.value.place.line == 3


def test_text_after_a_closing_quote_is_refused_with_its_line(crm: Crm) -> None:
    with pytest.raises(ImportRefused) as refused:
        crm.run("Contact", 'name,email\nAnn,a@x.test\n"Bob"by,b@x.test\n')

    assert (refused.value.code, refused.value.place.line) == ("MM.E601", 3)
    assert crm.names() == []


def test_quotes_inside_an_unquoted_or_doubled_in_a_quoted_value_are_kept(crm: Crm) -> None:
    summary = crm.run("Contact", 'name,email\nAnn "the boss",a@x.test\n"Bob ""B""",b@x.test\n')

    assert summary.created == 2, errors(summary)
    assert crm.names() == ['Ann "the boss"', 'Bob "B"']


# --- a dry run sees its earlier batches --------------------------------------------------------------------


def test_a_dry_run_finds_a_duplicate_in_a_later_batch_as_the_import_does(crm: Crm) -> None:
    content = "name,email\nDup,dup@x.test\nA,a@x.test\nB,b@x.test\nDup again,dup@x.test\n"

    dry = crm.run("Contact", content, dry_run=True, batch_size=2)
    assert crm.names() == []
    real = crm.run("Contact", content, batch_size=2)

    assert (dry.created, dry.failed) == (real.created, real.failed) == (3, 1)
    assert errors(dry) == errors(real) and errors(dry)[0][:2] == (5, "email")


def test_a_dry_run_upsert_counts_a_row_that_updates_one_created_above(crm: Crm) -> None:
    summary = crm.run("Contact", "name,email\nAnn,ann@x.test\nAnn B,ann@x.test\n", key="email",
                      dry_run=True, batch_size=1)

    assert (summary.created, summary.updated, summary.failed) == (1, 1, 0), errors(summary)
    assert crm.names() == []


# --- an .xlsx formula saved without its computed value ---------------------------------------------------


def test_an_xlsx_formula_without_a_computed_value_is_a_row_error(crm: Crm) -> None:
    summary = crm.run("Contact", xlsx([["name", "score"], ["Ann", "=1+1"], ["Bob", 3]]), "people.xlsx")

    assert errors(summary) == [(2, "score", UNCOMPUTED)]
    assert crm.names() == ["Bob"]


def test_an_xlsx_formula_without_a_value_does_not_clear_the_field_on_upsert(crm: Crm) -> None:
    crm.store.create("Contact", {"name": "Ann", "email": "ann@x.test", "score": 5})

    summary = crm.run("Contact", xlsx([["email", "score"], ["ann@x.test", "=B9*2"]]), "people.xlsx",
                      key="email")

    assert (summary.updated, summary.failed) == (0, 1)
    assert crm.records("Contact")[0]["score"] == 5


def test_an_xlsx_id_key_that_is_an_uncomputed_formula_is_a_row_error(crm: Crm) -> None:
    summary = crm.run("Contact", xlsx([["id", "name"], ["=A9", "Ann"]]), "people.xlsx", key="id")

    assert errors(summary) == [(2, "id", UNCOMPUTED)]


def test_an_xlsx_formula_with_its_computed_value_imports_the_value(crm: Crm) -> None:
    content = _with_cached_values(xlsx([["name", "score"], ["Ann", "=1+1"]]), "2")

    summary = crm.run("Contact", content, "people.xlsx")

    assert summary.created == 1, errors(summary)
    assert crm.records("Contact")[0]["score"] == 2


def _with_cached_values(content: bytes, value: str) -> bytes:
    """The workbook as Excel saves it: every formula also holds its computed ``value``."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(content)) as source, zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            data = source.read(item)
            if item.filename.startswith("xl/worksheets/"):
                text = re.sub(r"<f>(.*?)</f>(<v\s*/>|<v></v>)?", rf"<f>\1</f><v>{value}</v>", data.decode())
                data = text.encode()
            target.writestr(item, data)
    return out.getvalue()


# --- blank lines before the header -------------------------------------------------------------------------


def test_blank_lines_before_the_header_are_skipped_and_rows_keep_their_line(crm: Crm) -> None:
    summary = crm.run("Contact", "\n;;\nname;score\nAnn;1\nBob;lots\n")

    assert summary.created == 1
    assert errors(summary) == [(5, "score", "must be a whole number")]


def test_blank_rows_before_the_xlsx_header_are_skipped(crm: Crm) -> None:
    content = xlsx([[None, None], ["name", "score"], ["Ann", 1], ["Bob", "lots"]])

    summary = crm.run("Contact", content, "people.xlsx")

    assert summary.created == 1
    assert errors(summary) == [(4, "score", "must be a whole number")]


def test_a_column_problem_after_blank_lines_names_the_header_line(crm: Crm) -> None:
    with pytest.raises(ImportRefused) as refused:
        crm.run("Contact", "\n\nname,colour\nAnn,red\n")

    assert (refused.value.code, refused.value.place.line) == ("MM.E604", 3)


def test_a_file_of_blank_lines_only_is_refused_as_empty(crm: Crm) -> None:
    with pytest.raises(ImportRefused) as refused:
        crm.run("Contact", "\n,,\n  \n")

    assert refused.value.code == "MM.E603"


# --- formula-looking text in a CSV export (OWASP CSV injection) --------------------------------------------

RISKY = ["=HYPERLINK(\"http://evil\")", "+49 30 1234", "-dash", "@SUM(A1)", "'=quoted already"]


def test_a_csv_export_puts_a_quote_before_text_a_spreadsheet_would_run(crm: Crm) -> None:
    for name in [*RISKY, "plain", "'plain"]:
        crm.store.create("Contact", {"name": name, "score": -5})
    out = io.BytesIO()
    export_records(crm.store, "Contact", out, "csv")

    rows = list(csv.DictReader(io.StringIO(out.getvalue().decode("utf-8-sig"))))
    assert sorted(r["name"] for r in rows) == sorted(["'" + n for n in RISKY] + ["plain", "'plain"])
    assert {r["score"] for r in rows} == {"-5"}


def test_a_guarded_csv_export_imports_back_unchanged(crm: Crm) -> None:
    for name in [*RISKY, "'plain"]:
        crm.store.create("Contact", {"name": name, "tags": ["-x", "y"]})
    out = io.BytesIO()
    export_records(crm.store, "Contact", out, "csv")

    summary = crm.run("Contact", out.getvalue(), key="id")

    assert (summary.unchanged, summary.updated, summary.failed) == (6, 0, 0), errors(summary)
    assert crm.names() == sorted([*RISKY, "'plain"])


@pytest.mark.parametrize("text", ["=x", "'=x", "''+1", "'plain", "plain", "", "'", "-", "\t1"])
def test_guarding_a_text_and_unguarding_it_gives_it_back(text: str) -> None:
    assert unguard_formula(guard_formula(text)) == text


# --- an e-mail key or lookup in any letter case ----------------------------------------------------------


def test_upsert_by_email_finds_the_record_in_any_letter_case_and_keeps_its_address(crm: Crm) -> None:
    crm.store.create("Contact", {"name": "Ann", "email": "ann@x.test"})

    summary = crm.run("Contact", "name,email\nAnn Two,ANN@X.test\n", key="email")

    assert (summary.created, summary.updated) == (0, 1), errors(summary)
    assert [(r["name"], r["email"]) for r in crm.records("Contact")] == [("Ann Two", "ann@x.test")]


def test_upsert_by_email_does_not_match_an_address_that_only_contains_it(crm: Crm) -> None:
    crm.store.create("Contact", {"name": "Joann", "email": "joann@x.test"})

    summary = crm.run("Contact", "name,email\nAnn,Ann@x.test\n", key="email")

    assert (summary.created, summary.updated) == (1, 0), errors(summary)


def test_an_email_key_matching_two_records_ignoring_case_is_a_row_error(crm: Crm) -> None:
    crm.store.create("Contact", {"name": "Ann", "email": "ann@x.test"})
    crm.store.create("Contact", {"name": "ANN", "email": "ANN@x.test"})

    summary = crm.run("Contact", "name,email\nAnn,Ann@x.test\n", key="email")

    assert [(e[0], e[1]) for e in errors(summary)] == [(2, "email")]
    assert "more than one" in errors(summary)[0][2]


def test_a_lookup_by_email_finds_the_record_in_any_letter_case(crm: Crm) -> None:
    ann = crm.store.create("Contact", {"name": "Ann", "email": "ann@x.test"})

    summary = crm.run("Deal", "title,contact.email\nBig,ANN@x.TEST\n")

    assert summary.created == 1, errors(summary)
    assert crm.records("Deal")[0]["contact"] == ann["id"]
