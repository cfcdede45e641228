"""Exports of filtered lists to CSV and XLSX, and the round trip export → import."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from openpyxl import load_workbook
from test_import_support import CRM, Crm, crm_fixture, errors  # noqa: F401  (a fixture)

from metamodel import apply_blueprint
from metamodel.blueprint import parse_blueprint
from metamodel.errors import InvalidQuery
from metamodel.imports import ImportRefused, export_records, parse_order_by, parse_where


def _seed(crm: Crm) -> dict[str, Any]:
    acme = crm.store.create("Company", {"name": "Acme", "domain": "acme.test"})
    ann = crm.store.create("Contact", {"name": "Ann", "email": "ann@x.test", "company": acme["id"],
                                       "tags": ["vip", "new"], "score": 5, "vip": True,
                                       "birthday": "2001-02-03", "seen_at": "2026-03-01T10:00:00Z",
                                       "extra": {"size": 42}, "phone": "+10000000001"})
    crm.store.create("Contact", {"name": "Bob", "score": 1})
    crm.store.create("Deal", {"title": "Big", "amount": "1234.50", "contact": ann["id"], "stage": "won"})
    return {"acme": acme, "ann": ann}


def _csv(crm: Crm, entity: str, **kwargs: Any) -> list[dict[str, str]]:
    out = io.BytesIO()
    export_records(crm.store, entity, out, "csv", **kwargs)
    return list(csv.DictReader(io.StringIO(out.getvalue().decode("utf-8-sig"))))


def test_a_csv_export_has_field_names_as_header_and_flat_values(crm: Crm) -> None:
    seeded = _seed(crm)

    rows = _csv(crm, "Contact", order_by=[("name", "asc")])

    assert [r["name"] for r in rows] == ["Ann", "Bob"]
    ann = rows[0]
    assert ann["company"] == str(seeded["acme"]["id"])
    assert (ann["tags"], ann["vip"], ann["score"], ann["birthday"]) == ("vip, new", "true", "5", "2001-02-03")
    assert ann["seen_at"] == "2026-03-01T10:00:00+00:00"
    assert ann["extra"] == '{"size": 42}'
    assert list(rows[0])[:2] == ["id", "name"]


def test_a_csv_export_starts_with_a_byte_order_mark_for_excel(crm: Crm) -> None:
    out = io.BytesIO()
    export_records(crm.store, "Contact", out, "csv")

    assert out.getvalue().startswith(b"\xef\xbb\xbfid,name,")


def test_an_export_keeps_only_the_records_the_filter_matches_in_order(crm: Crm) -> None:
    _seed(crm)
    crm.store.create("Contact", {"name": "Cid", "score": 9})
    where = parse_where(crm.store.meta, '{"score": {"gte": 2}}')

    rows = _csv(crm, "Contact", where=where, order_by=parse_order_by(crm.store.meta, ["score:desc"]))

    assert [r["name"] for r in rows] == ["Cid", "Ann"]


def test_camel_case_names_in_a_filter_are_read_as_field_names(crm: Crm) -> None:
    where = parse_where(crm.store.meta, '{"seenAt": {"isNull": false}, "createdAt": {"isNull": false}}')

    assert where == {"seen_at": {"isNull": False}, "created_at": {"isNull": False}}


def test_a_filter_that_is_not_a_json_object_is_refused(crm: Crm) -> None:
    for text in ("{nope", "[1]"):
        with pytest.raises(ImportRefused) as refused:
            parse_where(crm.store.meta, text)
        assert refused.value.code == "MM.E608"


def test_a_sort_direction_other_than_asc_or_desc_is_refused(crm: Crm) -> None:
    with pytest.raises(ImportRefused):
        parse_order_by(crm.store.meta, ["name:up"])


def test_a_filter_on_an_unknown_field_is_refused(crm: Crm) -> None:
    with pytest.raises(InvalidQuery):
        _csv(crm, "Contact", where={"colour": {"eq": "red"}})


def test_hidden_fields_are_left_out_of_an_export(crm: Crm) -> None:
    _seed(crm)

    rows = _csv(crm, "Contact", hidden=frozenset({("Contact", "phone"), ("Contact", "email")}))

    assert "phone" not in rows[0] and "email" not in rows[0]
    assert rows[0]["name"]


def test_an_export_pages_through_more_records_than_one_page(crm: Crm,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    import metamodel.imports.exporting as exporting

    monkeypatch.setattr(exporting, "MAX_PAGE", 3)
    for i in range(8):
        crm.store.create("Contact", {"name": f"P{i}"})

    rows = _csv(crm, "Contact", order_by=[("name", "asc")])

    assert [r["name"] for r in rows] == [f"P{i}" for i in range(8)]


def test_an_xlsx_export_keeps_numbers_dates_and_booleans_typed(crm: Crm) -> None:
    _seed(crm)
    out = io.BytesIO()

    count = export_records(crm.store, "Deal", out, "xlsx")

    sheet = load_workbook(io.BytesIO(out.getvalue())).worksheets[0]
    header, row = [c.value for c in sheet[1]], [c.value for c in sheet[2]]
    deal = dict(zip(header, row, strict=True))
    assert count == 1
    assert (deal["title"], deal["stage"], deal["pipeline"]) == ("Big", "won", "sales")
    assert Decimal(str(deal["amount"])) == Decimal("1234.5")
    assert Decimal(str(deal["margin"])) == Decimal("246.9")
    assert isinstance(deal["created_at"], datetime)


def test_text_that_looks_like_a_formula_is_exported_as_text(crm: Crm) -> None:
    crm.store.create("Contact", {"name": "=HYPERLINK(\"http://evil\")"})
    out = io.BytesIO()
    export_records(crm.store, "Contact", out, "xlsx")

    cell = load_workbook(io.BytesIO(out.getvalue())).worksheets[0]["B2"]
    assert cell.data_type == "s"


def test_an_unknown_export_format_is_refused(crm: Crm) -> None:
    with pytest.raises(ImportRefused):
        export_records(crm.store, "Contact", io.BytesIO(), "pdf")


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_an_export_imports_into_another_workspace_as_the_same_records(crm: Crm, fmt: str) -> None:
    _seed(crm)
    other = Crm(crm.engine, crm.workspace + "b")
    apply_blueprint(crm.engine, parse_blueprint(CRM), other.workspace)
    other.store.create("Company", {"name": "Acme", "domain": "acme.test"})  # the reference by domain
    out = io.BytesIO()
    export_records(crm.store, "Contact", out, fmt)

    summary = other.run("Contact", out.getvalue(), f"contacts.{fmt}", mapping={"company": ""})

    assert (summary.created, summary.failed) == (2, 0), errors(summary)
    theirs = {r["name"]: r for r in other.records("Contact")}
    ann = theirs["Ann"]
    assert (ann["email"], ann["tags"], ann["score"], ann["vip"]) == ("ann@x.test", ["vip", "new"], 5, True)
    assert ann["birthday"] == date(2001, 2, 3)
    assert ann["seen_at"] == datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
    assert ann["extra"] == {"size": 42}
    assert theirs["Bob"]["email"] is None


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_an_export_imported_by_id_into_its_workspace_changes_nothing(crm: Crm, fmt: str) -> None:
    _seed(crm)
    out = io.BytesIO()
    export_records(crm.store, "Deal", out, fmt)

    summary = crm.run("Deal", out.getvalue(), f"deals.{fmt}", key="id")

    assert (summary.unchanged, summary.updated, summary.failed) == (1, 0, 0), errors(summary)
