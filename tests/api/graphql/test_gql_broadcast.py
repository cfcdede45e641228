"""``broadcast`` and ``broadcasts``: queue to a segment, counts after the runner, roles, hidden fields,
``records: own``, and bad input as VALIDATION_FAILED with the places — on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from metamodel.storage.system_tables import broadcasts, messages
from workflow import Runtime, drain

if TYPE_CHECKING:
    from conftest import Crm

SEND = """mutation($where: JSON, $body: String!, $channel: String! = "email", $entity: String! = "Contact",
                   $subject: String = "News", $to: String) {
  broadcast(entity: $entity, where: $where, channel: $channel, subject: $subject, body: $body, to: $to) {
    id status recipients
  }
}"""
LIST = ("query($id: ID) { broadcasts(id: $id) { id entity status where recipients sent skipped failed queued "
        "createdBy } }")


def seed(crm: Crm, actor_email: str | None = None) -> None:
    actor = crm.actor(actor_email) if actor_email else None
    people = [("Ann", "ann@example.com", ["buyer", "vip"]), ("Bob", "bob@example.com", ["buyer"]),
              ("Cid", None, ["vip"])]
    for name, email, tags in people:
        crm.store.create("Contact", {"name": name, "email": email, "tags": tags}, actor=actor)


def run_all(crm: Crm) -> None:
    drain(Runtime(crm.engine, workspace=crm.meta.workspace))


def recipients(crm: Crm) -> list[str]:
    with crm.engine.connect() as conn:
        return sorted(conn.execute(sa.select(messages.c.recipient).where(
            messages.c.workspace == crm.meta.workspace)).scalars())


def count(crm: Crm, table: sa.Table) -> int:
    with crm.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table).where(
            table.c.workspace == crm.meta.workspace)).scalar_one())


def send(crm: Crm, body: str = "Hello {name}", **variables: Any) -> dict[str, Any]:
    return dict(crm.data(SEND, variables={"body": body, **variables})["broadcast"])


def test_the_mutation_queues_and_answers_id_and_status(crm: Crm) -> None:
    seed(crm)
    sent = send(crm, where={"tags": {"hasAny": ["vip"]}})
    assert sent["status"] == "queued" and sent["recipients"] == 0
    assert count(crm, broadcasts) == 1 and count(crm, messages) == 0


def test_the_query_shows_the_counts_once_the_runner_sent_it(crm: Crm) -> None:
    seed(crm)
    sent = send(crm, where={"tags": {"hasAll": ["buyer", "vip"]}})
    run_all(crm)
    [row] = crm.data(LIST, variables={"id": sent["id"]})["broadcasts"]
    counts = (row["status"], row["recipients"], row["sent"], row["skipped"], row["queued"])
    assert counts == ("done", 1, 1, 0, 0)
    assert row["where"] == {"tags": {"hasAll": ["buyer", "vip"]}} and row["createdBy"] == "admin token tok"


def test_records_without_an_address_are_skipped(crm: Crm) -> None:
    seed(crm)
    sent = send(crm, where={"tags": {"hasAny": ["vip"]}})
    run_all(crm)
    [row] = crm.data(LIST, variables={"id": sent["id"]})["broadcasts"]
    assert (row["recipients"], row["sent"], row["skipped"]) == (2, 1, 1)


def test_a_segment_may_follow_references(crm: Crm) -> None:
    seed(crm)
    company = crm.store.create("Company", {"name": "Acme", "industry": "it"})
    crm.store.create("Contact", {"name": "Dan", "email": "dan@example.com", "company": company["id"]})
    send(crm, where={"company": {"industry": {"eq": "it"}}})
    run_all(crm)
    assert recipients(crm) == ["dan@example.com"]


def test_a_role_that_may_only_read_the_entity_is_forbidden(crm: Crm) -> None:
    assert crm.codes(SEND, role="analyst", variables={"body": "Hi"}) == ["FORBIDDEN"]
    assert crm.codes(SEND, role="dealer", variables={"body": "Hi"}) == ["FORBIDDEN"]
    assert count(crm, broadcasts) == 0


def test_a_role_may_not_name_a_field_hidden_from_it(crm: Crm) -> None:
    hidden: list[dict[str, Any]] = [{"body": "Call {phone}"},
                                    {"body": "Hi", "where": {"phone": {"isNull": False}}},
                                    {"body": "Hi", "channel": "sms", "subject": None}]
    for variables in hidden:
        result = crm.run(SEND, role="clerk", variables=variables)
        assert [(e.extensions or {}).get("code") for e in result.errors or ()] == ["FORBIDDEN"], variables
        assert "Contact.phone is not visible to you" in str(result.errors)
    assert count(crm, broadcasts) == 0


def test_a_role_with_update_may_broadcast_without_hidden_fields(crm: Crm) -> None:
    seed(crm)
    result = crm.run(SEND, role="clerk", variables={"body": "Hello {name}"})
    assert result.errors is None


def test_a_records_own_role_reaches_only_its_own_records(crm: Crm) -> None:
    seed(crm, "anna@acme.test")
    oleg = crm.actor("oleg@acme.test")
    crm.store.create("Contact", {"name": "Olga", "email": "olga@example.com"}, actor=oleg)
    crm.data(SEND, role="manager", email="anna@acme.test", variables={"body": "Hi {name}"})
    run_all(crm)
    assert recipients(crm) == ["ann@example.com", "bob@example.com"]
    assert [b["createdBy"] for b in crm.data(LIST, role="manager", email="anna@acme.test")["broadcasts"]] == [
        "anna@acme.test"]
    assert crm.data(LIST, role="manager", email="oleg@acme.test")["broadcasts"] == []


def test_the_list_leaves_out_entities_the_role_may_not_read(crm: Crm) -> None:
    send(crm)
    assert crm.data(LIST, role="dealer")["broadcasts"] == []
    assert len(crm.data(LIST, role="analyst")["broadcasts"]) == 1


def test_bad_input_is_validation_failed_naming_every_place(crm: Crm) -> None:
    result = crm.run(SEND, variables={"body": "Hi {nmae}", "where": {"tagz": {"hasAny": ["vip"]}},
                                      "subject": "  "})
    [error] = result.errors or []
    assert (error.extensions or {})["code"] == "VALIDATION_FAILED"
    assert set((error.extensions or {})["fields"]) == {"where.tagz", "subject", "body"}
    assert count(crm, broadcasts) == 0


def test_an_entity_without_an_address_field_is_named(crm: Crm) -> None:
    result = crm.run(SEND, variables={"body": "Hi", "entity": "Company"})
    [error] = result.errors or []
    assert (error.extensions or {})["fields"] == {
        "to": "Company has no email field to send email to; name the field that holds the address"}


def test_an_unknown_entity_is_named_with_a_suggestion(crm: Crm) -> None:
    result = crm.run(SEND, variables={"body": "Hi", "entity": "Contakt"})
    [error] = result.errors or []
    assert 'did you mean "Contact"' in (error.extensions or {})["fields"]["entity"]


def test_an_unknown_id_lists_nothing(crm: Crm) -> None:
    assert crm.data(LIST, variables={"id": "999999"})["broadcasts"] == []


def test_the_address_and_opt_out_arguments_are_checked_too(crm: Crm) -> None:
    result = crm.run('mutation { broadcast(entity: "Contact", channel: "email", subject: "S", body: "B", '
                     'to: "mail", optOut: "name") { id } }')
    [error] = result.errors or []
    fields = (error.extensions or {})["fields"]
    assert set(fields) == {"to", "optOut"} and "must be a boolean" in fields["optOut"]


def test_a_records_own_role_sees_its_broadcasts_behind_newer_ones_of_others(crm: Crm) -> None:
    seed(crm, "anna@acme.test")
    crm.data(SEND, role="manager", email="anna@acme.test", variables={"body": "Hi {name}"})
    for _ in range(3):
        send(crm)  # newer broadcasts of the admin

    listed = crm.data("{ broadcasts(first: 2) { createdBy } }", role="manager", email="anna@acme.test")

    assert listed["broadcasts"] == [{"createdBy": "anna@acme.test"}]


def test_an_id_that_is_no_number_lists_nothing(crm: Crm) -> None:
    assert crm.data(LIST, variables={"id": "x"})["broadcasts"] == []
