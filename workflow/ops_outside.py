"""Steps that reach outside the database: messages (email, sms, whatsapp) and webhook calls.

A message is always recorded as a Message row first (in the step's transaction, unique by the
step's idempotency key), then handed to its provider with no transaction open, then marked with
the provider's answer.  A crash between hand-over and marking hands it over again with the same
key (the SMTP Message-ID and the gateway's Idempotency-Key derive from it), so the receiver can
drop the repeat; the Message row itself is never written twice.  A webhook call is logged in
``sc_wf_effects`` the same way, and a call that already has a result is not made again.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

import dsl
from metamodel.storage.system_tables import messages, wf_effects
from workflow.delivery import DeliveryConfig, OutgoingMessage, deliver
from workflow.ssrf import AllowList
from workflow.step import Outcome, Outside, Step, handles
from workflow.webhooks import WebhookRequest, call_webhook

_m = messages.c
_e = wf_effects.c


def _delivery_config(step: Step) -> DeliveryConfig:
    cfg = step.runtime.config
    return DeliveryConfig(smtp_url=cfg.smtp_url, mail_from=cfg.mail_from, sms_url=cfg.sms_url,
                          whatsapp_url=cfg.whatsapp_url)


def _text(value: Any) -> str:
    return "" if value is None else str(value)


@handles("send")
def run_send(step: Step, op: dsl.SendOp) -> Outcome:
    key = step.key(op)
    row = step.conn.execute(sa.select(_m.id, _m.status).where(
        _m.workspace == step.inst.workspace, _m.idempotency_key == key)).first()
    if row is None:
        to = _text(step.eval(op.to)).strip()
        if not to:  # as a notify to an empty owner: the record has no address, not the automation a bug
            step.inst.note("skipped", reason=f"no {op.channel} sent: the address is empty")
            return None
        message = OutgoingMessage(channel=op.channel, to=to,
                                  subject=_text(step.eval(op.subject)) if op.subject else None,
                                  body=_text(step.eval(op.body)), idempotency_key=key)
        row_id = step.conn.execute(sa.insert(messages).values(
            workspace=step.inst.workspace, channel=op.channel, recipient=message.to[:500],
            subject=(message.subject or "")[:500] or None, body=message.body, status="queued",
            entity=step.inst.entity, record_id=step.inst.record_id, idempotency_key=key,
            created_at=step.now).returning(_m.id)).scalar_one()
        step.inst.note("message", channel=op.channel, to=message.to, subject=message.subject)
    elif row.status != "queued":
        return None  # handed over before a crash; nothing to repeat
    else:
        row_id = row.id
    stored = step.conn.execute(sa.select(messages).where(_m.id == row_id)).mappings().one()
    outgoing = OutgoingMessage(channel=stored["channel"], to=stored["recipient"], subject=stored["subject"],
                               body=stored["body"], idempotency_key=key)
    config = _delivery_config(step)
    return Outside(perform=lambda: deliver(outgoing, config),
                   finish=lambda s, status: _mark_message(s, row_id, status))


def _mark_message(step: Step, row_id: int, status: str) -> Outcome:
    step.conn.execute(sa.update(messages).where(_m.id == row_id).values(status=status))
    return None


@handles("call_webhook")
def run_call_webhook(step: Step, op: dsl.CallWebhookOp) -> Outcome:
    key = step.key(op)
    done = step.conn.execute(sa.select(_e.result).where(
        _e.workspace == step.inst.workspace, _e.key == key, _e.status == "done")).first()
    if done is not None:
        return _bind_reply(step, op, done.result)
    body = None if op.body is None else {e.name: _json(step.eval(e.value)) for e in op.body}
    request = WebhookRequest(url=_text(step.eval(op.url)), method=op.method, body=body, idempotency_key=key)
    _log_effect(step, key)
    cfg = step.runtime.config
    allow = AllowList.from_text(cfg.webhook_allow)
    step.inst.note("webhook", url=request.url, method=request.method)
    return Outside(perform=lambda: call_webhook(request, secret=cfg.webhook_secret, allow=allow),
                   finish=lambda s, reply: _finish_call(s, op, key, reply))


def _log_effect(step: Step, key: str) -> None:
    exists = step.conn.execute(sa.select(_e.id).where(
        _e.workspace == step.inst.workspace, _e.key == key)).first()
    if exists is None:
        step.conn.execute(sa.insert(wf_effects).values(
            workspace=step.inst.workspace, key=key, instance_id=step.inst.id, status="pending",
            created_at=step.now))


def _finish_call(step: Step, op: dsl.CallWebhookOp, key: str, reply: Any) -> Outcome:
    result = {"status": reply.status, "body": _json(reply.body)}
    step.conn.execute(sa.update(wf_effects).where(_e.workspace == step.inst.workspace, _e.key == key)
                      .values(status="done", result=result, done_at=step.now))
    return _bind_reply(step, op, result)


def _bind_reply(step: Step, op: dsl.CallWebhookOp, result: Any) -> Outcome:
    if op.bind:
        step.inst.vars[op.bind] = result
    return None


def _json(value: Any) -> Any:
    """A value as JSON can carry it (records as their ids, numbers and dates as text)."""
    from metamodel.records.events import json_safe
    from workflow.views import record_id_of

    return json_safe(record_id_of(value))
