"""The scenario step ``broadcast:``: read strictly, with every problem placed (no database needed)."""

from __future__ import annotations

import pytest

from workflow import BroadcastSpec
from workflow.scenario import Broadcast, ScenarioInvalid, parse_scenario

HEAD = 'start: "2026-03-02T09:00:00Z"\nsteps:\n'


def test_a_broadcast_step_is_read_with_its_segment_and_message() -> None:
    scenario = parse_scenario(HEAD + "  - broadcast: Contact\n    where: {tags: {hasAny: [vip, buyer]}}\n"
                                     "    channel: email\n    subject: Hi {name}\n    body: Hello\n"
                                     "    opt_out: no_mail\n")
    assert scenario.steps == (Broadcast(spec=BroadcastSpec(
        entity="Contact", channel="email", subject="Hi {name}", body="Hello",
        where={"tags": {"hasAny": ["vip", "buyer"]}}, opt_out="no_mail")),)


def test_a_misspelt_broadcast_key_is_placed_with_a_suggestion() -> None:
    with pytest.raises(ScenarioInvalid) as refused:
        parse_scenario(HEAD + "  - broadcast: Contact\n    chanel: sms\n    channel: sms\n    body: Hi\n")
    assert [(p.line, p.message) for p in refused.value.problems] == [
        (4, '"broadcast" takes no "chanel" — did you mean "channel"? '
            "(it takes where, channel, subject, body, to, opt_out)")]


def test_a_broadcast_without_channel_or_body_names_both() -> None:
    with pytest.raises(ScenarioInvalid) as refused:
        parse_scenario(HEAD + "  - broadcast: Contact\n")
    assert [p.message for p in refused.value.problems] == ['"channel" is required here',
                                                           '"body" is required here']


def test_a_broadcast_segment_must_be_a_mapping() -> None:
    with pytest.raises(ScenarioInvalid) as refused:
        parse_scenario(HEAD + "  - broadcast: Contact\n    where: vip\n    channel: sms\n    body: Hi\n")
    assert '"where" must be a mapping' in refused.value.problems[0].message
