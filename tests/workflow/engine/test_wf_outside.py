"""Steps that reach outside: email through a real SMTP server, webhooks to a real receiver."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from typing import TYPE_CHECKING

from workflow import WorkflowConfig
from workflow.simulation import Simulation

if TYPE_CHECKING:
    from conftest import Receiver, SmtpServer

MakeSim = Callable[[str], Simulation]
MAIL = ('automation "Mail"\nwhen Ticket created\ndo\n'
        '  send email to email subject "Hi {title}" body "Body"\nend\n')


def _configure(sim: Simulation, **settings: object) -> Simulation:
    sim.runtime.config = replace(WorkflowConfig(), **settings)  # type: ignore[arg-type]
    return sim


def test_an_email_step_is_delivered_by_smtp_and_marked_sent(make_sim: MakeSim,
                                                             smtp_server: SmtpServer) -> None:
    sim = _configure(make_sim(MAIL), smtp_url=smtp_server.url)
    sim.create("Ticket", {"title": "t1", "email": "ann@example.com"}, "t")
    [mail] = smtp_server.mails()
    assert (mail["To"], mail["Subject"]) == ("ann@example.com", "Hi t1")
    assert sim.messages()[0]["status"] == "sent"


def test_a_send_to_an_empty_address_is_skipped_and_the_run_goes_on(make_sim: MakeSim) -> None:
    sim = make_sim(MAIL)
    sim.create("Ticket", {"title": "t1"}, "t")

    assert [run["status"] for run in sim.instances()] == ["done"]
    assert sim.messages() == []
    assert any(e["kind"] == "skipped" and "address is empty" in str(e.get("reason")) for e in sim.timeline)


def test_an_unreachable_smtp_server_is_retried_with_backoff_then_the_run_fails(make_sim: MakeSim) -> None:
    sim = _configure(make_sim(MAIL), smtp_url="smtp://127.0.0.1:9")
    sim.create("Ticket", {"title": "t1", "email": "ann@example.com"}, "t")
    assert sim.instances()[0]["status"] == "running"  # waiting for its retry
    sim.advance(timedelta(days=1))
    [run] = sim.instances()
    assert run["status"] == "failed" and "WF_DELIVERY_FAILED" in run["error"]
    assert [m["status"] for m in sim.messages()] == ["queued"]  # recorded once, never duplicated
    assert sum(1 for e in sim.timeline if e["kind"] == "retrying") == 4


def test_a_refused_recipient_fails_the_run_at_once(make_sim: MakeSim, smtp_server: SmtpServer) -> None:
    smtp_server.refuse["nobody@example.com"] = "550 no such user"
    sim = _configure(make_sim(MAIL), smtp_url=smtp_server.url)
    sim.create("Ticket", {"title": "t1", "email": "nobody@example.com"}, "t")
    [run] = sim.instances()
    assert run["status"] == "failed" and "550" in run["error"]


HOOK = ('automation "Hook"\nwhen Ticket created\ndo\n'
        '  call webhook "{url}" with {ticket: title, id: id} as reply\n'
        '  set title = reply.body.answer\nend\n')


def test_a_webhook_step_posts_signed_json_and_binds_the_reply(make_sim: MakeSim, receiver: Receiver) -> None:
    receiver.always(200, body=b'{"answer": "pong"}', headers={"Content-Type": "application/json"})
    sim = _configure(make_sim(HOOK.replace("{url}", receiver.url)), webhook_allow="127.0.0.1/32",
                     webhook_secret="s3cret")
    record = sim.create("Ticket", {"title": "ping"}, "t")
    [request] = receiver.requests
    assert json.loads(request.body) == {"ticket": "ping", "id": record["id"]}
    assert request.headers["X-Stagecraft-Signature"].startswith("sha256=")
    assert sim.get("t")["title"] == "pong"


def test_a_webhook_to_a_private_address_fails_the_run_without_connecting(make_sim: MakeSim,
                                                                        receiver: Receiver) -> None:
    sim = make_sim(HOOK.replace("{url}", receiver.url))  # no allow list: loopback is refused
    sim.create("Ticket", {"title": "ping"}, "t")
    [run] = sim.instances()
    assert run["status"] == "failed" and "WF_UNSAFE_ADDRESS" in run["error"]
    assert receiver.requests == []
