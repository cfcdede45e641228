"""Bad rows are reported with their row number, column and reason while the good rows are kept;
upsert by a unique field or id; references by id or by a field of the target; dry runs; progress."""

from __future__ import annotations

import io
from typing import Any

import pytest
import sqlalchemy as sa
from test_import_support import Crm, crm_fixture, errors  # noqa: F401  (a fixture)

from metamodel.imports import ImportOptions, ImportRefused, import_records
from metamodel.records import RecordStore


def test_bad_rows_are_reported_with_their_line_and_good_rows_are_kept(crm: Crm) -> None:
    csv = ("name,score,vip,email\n"
           "Ann,1,yes,ann@x.test\n"      # line 2: good
           "Bob,many,yes,bob@x.test\n"   # line 3: not a number
           ",2,no,nobody@x.test\n"       # line 4: name required
           "Cid,3,maybe,cid@x.test\n"    # line 5: not a boolean
           "Dan,4,no,dan@x.test\n")      # line 6: good

    summary = crm.run("Contact", csv)

    assert (summary.created, summary.failed) == (2, 3)
    assert errors(summary) == [(3, "score", "must be a whole number"), (4, "name", "is required"),
                               (5, "vip", "must be true or false")]
    assert crm.names() == ["Ann", "Dan"]


def test_every_problem_of_a_row_is_reported_at_once(crm: Crm) -> None:
    summary = crm.run("Contact", "name,score,extra\n,x,{oops\n")

    assert {column for _, column, _ in errors(summary)} == {"name", "score", "extra"}


def test_a_row_whose_only_problem_is_an_unreadable_cell_is_not_written(crm: Crm) -> None:
    summary = crm.run("Contact", "name,extra\nAnn,{oops\nBob,{}\n")

    assert errors(summary)[0][:2] == (2, "extra")
    assert crm.names() == ["Bob"]


def test_a_row_spanning_lines_is_reported_at_the_line_it_starts_on(crm: Crm) -> None:
    summary = crm.run("Contact", 'name,score\n"Ann\nSmith",1\nBob,x\n')

    assert errors(summary) == [(4, "score", "must be a whole number")]
    assert crm.names() == ["Ann\nSmith"]


def test_an_unknown_stage_is_reported_on_its_row(crm: Crm) -> None:
    summary = crm.run("Deal", "title,stage\nA,won\nB,shipped\n")

    assert summary.created == 1
    [(row, column, reason)] = errors(summary)
    assert (row, column) == (3, "stage")
    assert '"shipped"' in reason and "won" in reason


def test_a_stage_may_be_given_by_its_name_in_any_case(crm: Crm) -> None:
    summary = crm.run("Deal", "title,stage\nA,paid\nB,LOST\n")

    assert summary.created == 2, errors(summary)
    assert sorted(r["stage"] for r in crm.records("Deal")) == ["lost", "won"]


def test_a_duplicate_unique_value_within_the_file_fails_the_second_row(crm: Crm) -> None:
    summary = crm.run("Contact", "name,email\nAnn,same@x.test\nBob,same@x.test\n")

    assert summary.created == 1
    [(row, column, reason)] = errors(summary)
    assert (row, column) == (3, "email")
    assert "unique" in reason
    assert crm.names() == ["Ann"]


def test_a_reference_to_a_missing_record_is_reported(crm: Crm) -> None:
    company = crm.store.create("Company", {"name": "Acme"})

    summary = crm.run("Contact", f"name,company\nAnn,{company['id']}\nBob,999999\n")

    assert summary.created == 1
    assert errors(summary) == [(3, "company", "no Company with id 999999")]


def test_a_reference_can_be_found_by_a_field_of_the_target(crm: Crm) -> None:
    acme = crm.store.create("Company", {"name": "Acme", "domain": "acme.test"})

    summary = crm.run("Contact", "name,company.domain\nAnn,acme.test\nBob,nowhere.test\n")

    assert summary.created == 1
    assert errors(summary) == [(3, "company.domain", 'no Company with domain "nowhere.test"')]
    assert crm.records("Contact")[0]["company"] == acme["id"]


def test_a_lookup_finding_several_records_or_an_impossible_value_is_a_row_error(crm: Crm) -> None:
    crm.store.create("Contact", {"name": "Twin"})
    crm.store.create("Contact", {"name": "Twin"})

    summary = crm.run("Deal", "title,contact.name\nA,Twin\n")
    by_score = crm.run("Deal", "title,contact.score\nB,many\n")

    assert errors(summary) == [(2, "contact.name", 'more than one Contact with name "Twin"')]
    assert errors(by_score) == [(2, "contact.score", 'no Contact with score "many"')]


def test_a_lookup_by_a_field_the_target_lacks_is_refused_up_front(crm: Crm) -> None:
    with pytest.raises(ImportRefused) as refused:
        crm.run("Contact", "name,company.domian\nAnn,acme.test\n")

    assert refused.value.code == "MM.E605"
    assert "domain" in refused.value.hint


@pytest.mark.parametrize("options", [{"unreadable": frozenset({"Company"})},
                                     {"hidden": frozenset({("Company", "domain")})},
                                     {"hidden": frozenset({("Contact", "company")})}])
def test_a_lookup_the_caller_may_not_read_is_refused_up_front(crm: Crm, options: dict[str, Any]) -> None:
    crm.store.create("Company", {"name": "Acme", "domain": "acme.test"})

    with pytest.raises(ImportRefused) as refused:
        crm.run("Contact", "name,company.domain\nAnn,acme.test\n", **options)

    assert refused.value.code == "MM.E609"
    assert crm.names() == []


def test_upsert_updates_the_record_holding_the_key_and_creates_the_others(crm: Crm) -> None:
    crm.store.create("Contact", {"name": "Ann", "email": "ann@x.test", "score": 1})

    summary = crm.run("Contact", "email,name,score\nann@x.test,Ann B.,5\nbob@x.test,Bob,2\n", key="email")

    assert (summary.created, summary.updated, summary.failed) == (1, 1, 0), errors(summary)
    by_email = {r["email"]: r for r in crm.records("Contact")}
    assert (by_email["ann@x.test"]["name"], by_email["ann@x.test"]["score"]) == ("Ann B.", 5)
    assert by_email["bob@x.test"]["name"] == "Bob"


def test_upsert_of_identical_values_counts_the_row_as_unchanged(crm: Crm) -> None:
    crm.store.create("Contact", {"name": "Ann", "email": "ann@x.test"})

    summary = crm.run("Contact", "email,name\nann@x.test,Ann\n", key="email")

    assert (summary.updated, summary.unchanged) == (0, 1)


def test_upsert_by_id_updates_and_an_empty_cell_clears_the_field(crm: Crm) -> None:
    ann = crm.store.create("Contact", {"name": "Ann", "phone": "+10000000001"})

    summary = crm.run("Contact", f"id,name,phone\n{ann['id']},Ann,\n", key="id")

    assert summary.updated == 1, errors(summary)
    assert crm.store.get("Contact", ann["id"])["phone"] is None


def test_upsert_by_id_refuses_an_id_of_no_live_record_and_creates_rows_without_id(crm: Crm) -> None:
    gone = crm.store.create("Contact", {"name": "Gone"})
    crm.store.delete("Contact", gone["id"])

    summary = crm.run("Contact", f"id,name\n{gone['id']},Again\n,New\n", key="id")

    assert summary.created == 1
    assert errors(summary) == [(2, "id", f"no live Contact with id {gone['id']} (leave the id empty to "
                                         "create one)")]
    assert crm.names() == ["New"]


def test_an_id_key_that_is_no_id_is_a_row_error_with_the_other_problems(crm: Crm) -> None:
    summary = crm.run("Contact", "id,name\n9999999999999999999,\nabc,Ann\n", key="id")

    assert errors(summary) == [(2, "id", "must be the id of a record"), (2, "name", "is required"),
                               (3, "id", "must be the id of a record")]
    assert crm.names() == []


def test_upsert_skips_soft_deleted_records(crm: Crm) -> None:
    old = crm.store.create("Contact", {"name": "Old", "email": "old@x.test"})
    crm.store.delete("Contact", old["id"])

    summary = crm.run("Contact", "email,name\nold@x.test,New\n", key="email")

    assert summary.failed == 1  # the deleted record still holds the unique value
    assert errors(summary)[0][1] == "email"


def test_a_key_that_is_not_unique_is_refused(crm: Crm) -> None:
    with pytest.raises(ImportRefused) as refused:
        crm.run("Contact", "name,phone\nAnn,+1\n", key="phone")

    assert refused.value.code == "MM.E606"
    assert "email" in refused.value.hint


def test_a_key_without_its_column_is_refused(crm: Crm) -> None:
    with pytest.raises(ImportRefused) as refused:
        crm.run("Contact", "name\nAnn\n", key="email")

    assert refused.value.code == "MM.E606"


def test_a_dry_run_reports_the_same_but_writes_nothing(crm: Crm) -> None:
    summary = crm.run("Contact", "name,score\nAnn,1\nBob,x\n", dry_run=True)

    assert (summary.created, summary.failed, summary.dry_run) == (1, 1, True)
    assert crm.names() == []


def test_rows_committed_in_batches_are_all_kept(crm: Crm) -> None:
    lines = "".join(f"P{i},{'x' if i % 7 == 0 else i}\n" for i in range(1, 51))

    summary = crm.run("Contact", "name,score\n" + lines, batch_size=8)

    assert (summary.created, summary.failed) == (43, 7)
    assert len(crm.names()) == 43


def test_progress_reports_rows_done_out_of_the_total(crm: Crm) -> None:
    seen: list[tuple[int, int | None]] = []
    lines = "".join(f"P{i}\n" for i in range(5))
    import_records(crm.store, "Contact", io.BytesIO(("name\n" + lines).encode()), "p.csv",
                   ImportOptions(batch_size=2), progress=lambda done, total: seen.append((done, total)))

    assert seen == [(2, 5), (4, 5), (5, 5)]


def test_a_row_the_database_refuses_past_the_checks_is_a_row_error(crm: Crm,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    real = RecordStore.create

    def create(store: RecordStore, entity: str, values: Any, **kwargs: Any) -> Any:
        if values.get("name") == "Bad":
            raise sa.exc.DataError("INSERT", {}, Exception("value out of range\nDETAIL: x"))
        return real(store, entity, values, **kwargs)

    monkeypatch.setattr(RecordStore, "create", create)
    summary = crm.run("Contact", "name\nAnn\nBad\nBob\n")

    assert errors(summary) == [(3, "", "the database refused the row: value out of range")]
    assert crm.names() == ["Ann", "Bob"]


def test_only_the_first_errors_are_listed_and_the_rest_counted(crm: Crm) -> None:
    summary = crm.run("Contact", "name,score\n" + "P,x\n" * 5, max_errors=2)

    assert (summary.failed, len(summary.errors), summary.errors_not_listed) == (5, 2, 3)


def test_a_row_with_more_cells_than_the_header_is_refused(crm: Crm) -> None:
    summary = crm.run("Contact", "name\nAnn,extra\nBob\n")

    assert errors(summary) == [(2, "", "has more cells than the header has columns")]
    assert crm.names() == ["Bob"]
