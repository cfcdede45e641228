"""``POST /w/{workspace}/hooks/{name}``: an inbound webhook (spec/graphql.md, "Beside GraphQL").

The sender signs exactly as our outgoing webhooks do (``workflow/webhooks.py``):
``X-Stagecraft-Signature: sha256=<hex HMAC-SHA256 of "{id}.{timestamp}." + body>``
with ``X-Stagecraft-Id`` and ``X-Stagecraft-Timestamp`` (Unix seconds, within 5
minutes), the secret being ``STAGECRAFT_HOOK_SECRET`` (else ``STAGECRAFT_SECRET_KEY``).
The signature is checked before the body is parsed, so an unsigned caller learns
nothing — not even whether the workspace exists.

A hook name no automation listens to is accepted with ``{"runs": 0}`` rather
than 404: the sender is authenticated, a shop should not retry (or alert)
because an automation is switched off for a while, and telling the two apart
would need the workflow plan, which is not public outside ``workflow``.  An
unknown workspace is a 404.
"""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Header, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from api.rest import RestError, error_responses, media_type, parse_json_object, read_limited_body, runtime_of
from api.settings import Settings
from metamodel.errors import NotFound
from workflow import fire_inbound, hook_secret_for, verify_signature

router = APIRouter(tags=["webhooks"])

#: How far the sender's timestamp may be from our clock, in seconds (replays older than this fail).
TOLERANCE = 300

_HOOK_BODY = {"required": True, "content": {"application/json": {
    "schema": {"type": "object", "description": "Any JSON object; automations read it as `payload`."},
    "example": {"order": 1042, "total": 99.5}}}}


class Accepted(BaseModel):
    runs: int


def hook_secret(settings: Settings) -> str | None:
    """The master secret of inbound hooks: ``STAGECRAFT_HOOK_SECRET``, else ``STAGECRAFT_SECRET_KEY``.
    Requests are signed with the secret derived from it for one workspace and hook
    (``workflow.hook_secret_for``; ``stagecraft hook secret`` prints it)."""
    return settings.hook_secret or settings.secret_key


@router.post(
    "/w/{workspace}/hooks/{name}", status_code=202, summary="Receive a signed webhook",
    description="Starts the `webhook NAME received` automations with the JSON body as `payload`. "
                "Headers X-Stagecraft-Id, X-Stagecraft-Timestamp (Unix seconds, within 5 minutes) and "
                "X-Stagecraft-Signature (`sha256=` + hex HMAC-SHA256 of `{id}.{timestamp}.` + body, "
                "keyed with this hook's secret: `stagecraft hook secret NAME --workspace W` prints it). "
                "Answers the number of runs started (0 when no automation listens to NAME); an id "
                "received before answers 200 with `duplicate: true` and starts nothing.",
    openapi_extra={"requestBody": _HOOK_BODY},
    responses={202: {"model": Accepted, "description": "Runs were started (possibly none)"},
               200: {"description": "This event id was received before; nothing was started again"},
               **error_responses(400, 401, 404, 413, 415, 503)},
)
async def post_hook(
    request: Request,
    workspace: str = Path(examples=["spec"], description="The workspace's name"),
    name: str = Path(examples=["shop"], description="NAME of `webhook NAME received`"),
    x_stagecraft_id: str = Header("", description="The event's id, unique per event"),
    x_stagecraft_timestamp: str = Header("", description="Unix seconds when the event was signed"),
    x_stagecraft_signature: str = Header("", description="sha256=<hex HMAC-SHA256>"),
) -> JSONResponse:
    master = hook_secret(request.app.state.settings)
    if master is None:
        raise RestError(503, "API.E353", "inbound webhooks need STAGECRAFT_HOOK_SECRET",
                        hint="set STAGECRAFT_HOOK_SECRET (or STAGECRAFT_SECRET_KEY) and restart")
    body = await read_limited_body(request)
    secret = hook_secret_for(master, workspace, name)
    signed = verify_signature(secret, x_stagecraft_id, x_stagecraft_timestamp, body, x_stagecraft_signature,
                              now=time.time, tolerance=TOLERANCE)
    if len(x_stagecraft_id) > 200 or not signed:
        raise RestError(401, "API.E341", "the webhook signature is missing, wrong or too old",
                        hint="sign id.timestamp.body with this hook's secret (stagecraft hook secret); "
                             "the id is required and the timestamp within 5 minutes of now")
    payload = _payload(request, body)
    try:
        runs = await run_in_threadpool(lambda: fire_inbound(
            runtime_of(request), workspace, "webhook", name, payload, event_id=x_stagecraft_id))
    except NotFound:
        raise RestError(404, "API.E304", "there is no such workspace",
                        hint="check the workspace name in the URL") from None
    if runs is None:
        return JSONResponse({"runs": 0, "duplicate": True}, status_code=200)
    return JSONResponse({"runs": len(runs)}, status_code=202)


def _payload(request: Request, body: bytes) -> dict[str, Any]:
    kind = media_type(request)
    if kind and kind != "application/json" and not kind.endswith("+json"):
        raise RestError(415, "API.E315", f'a webhook body must be JSON, not "{kind}"',
                        hint="send Content-Type: application/json")
    return parse_json_object(body)
