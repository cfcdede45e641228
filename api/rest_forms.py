"""``POST /w/{workspace}/forms/{name}``: the public web form endpoint (spec/graphql.md, "Beside GraphQL").

Public because it is embedded in clients' websites: no token, so it is limited
in size and rate, and an unknown workspace and an unknown form get the same 404
— a stranger cannot probe which workspaces exist.  The record and its
``form NAME submitted`` runs are written in one transaction by
:func:`workflow.submit_form`, off the event loop.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.datastructures import UploadFile

from api.rest import (
    RestError,
    client_key,
    error_responses,
    media_type,
    multipart_form,
    parse_json_object,
    rate_limited,
    read_limited_body,
    refuse_bad_text,
    runtime_of,
)
from metamodel.errors import MetamodelError, NotFound, ValidationFailed
from workflow import WorkflowError, submit_form

router = APIRouter(tags=["forms"])

_SCALAR = {"type": ["string", "number", "integer", "boolean", "null"]}
_FORM_BODY = {
    "required": True,
    "content": {
        "application/json": {"schema": {"type": "object", "additionalProperties": _SCALAR},
                             "example": {"full_name": "Wanda", "phone": "+10000000009"}},
        "application/x-www-form-urlencoded": {
            "schema": {"type": "object", "additionalProperties": {"type": "string"}}},
        "multipart/form-data": {"schema": {"type": "object", "additionalProperties": {"type": "string"}}},
    },
}


class Created(BaseModel):
    id: str


class FieldErrors(BaseModel):
    """A reason per form key (the keys the website posts, not the record's field names)."""

    errors: dict[str, str]


class FormValues(dict[str, Any]):
    """The submitted form keys and values, after decoding."""


@router.post(
    "/w/{workspace}/forms/{name}", status_code=201, summary="Submit a web form",
    description="Creates the record the blueprint's `forms:` section maps and starts the "
                "`form NAME submitted` automations, together or not at all. Public: no token; "
                "at most 64 KB and 30 submissions a minute per address and form.",
    openapi_extra={"requestBody": _FORM_BODY},
    responses={201: {"model": Created, "description": "The record was created"},
               422: {"model": FieldErrors, "description": "A reason per invalid form key"},
               **error_responses(400, 404, 413, 415, 429)},
)
async def post_form(request: Request,
                    workspace: str = Path(examples=["spec"], description="The workspace's name"),
                    name: str = Path(examples=["website"], description="The form's name in the blueprint"),
                    ) -> JSONResponse:
    client = client_key(request.client.host) if request.client else "unknown"
    wait = request.app.state.form_limiter.hit(client, workspace, name)
    if wait is not None:
        raise rate_limited(wait)
    values = await _decode(request, await read_limited_body(request))
    try:
        record = await run_in_threadpool(submit_form, runtime_of(request), workspace, name, values)
    except ValidationFailed as exc:
        return JSONResponse({"errors": exc.fields or {"_": exc.message}}, status_code=422)
    except NotFound:
        raise RestError(404, "API.E304", "there is no such form",
                        hint="check the workspace and form names in the URL") from None
    except (MetamodelError, WorkflowError) as exc:
        return JSONResponse({"errors": {"_": exc.message}}, status_code=422)
    return JSONResponse({"id": str(record["id"])}, status_code=201)


async def _decode(request: Request, body: bytes) -> FormValues:
    """The form values of ``body`` by its content type; 400 or 415 when they cannot be read."""
    kind = media_type(request)
    if kind == "application/json" or kind.endswith("+json"):
        return _from_json(body)
    if kind == "application/x-www-form-urlencoded":
        return _from_urlencoded(body)
    if kind == "multipart/form-data":
        return await _from_multipart(request, body)
    raise RestError(415, "API.E315", f'a form cannot be sent as "{kind or "no content type"}"',
                    hint="send application/json, application/x-www-form-urlencoded or multipart/form-data")


def _from_urlencoded(body: bytes) -> FormValues:
    """Decoded strictly: a percent-escape that is not UTF-8 is refused, not turned into U+FFFD."""
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, errors="strict")
    except UnicodeDecodeError:
        raise RestError(400, "API.E300", "the body is not UTF-8 text",
                        hint="encode the form as UTF-8") from None
    return _checked(dict(pairs))


def _from_json(body: bytes) -> FormValues:
    data = parse_json_object(body)
    nested = sorted(k for k, v in data.items() if isinstance(v, dict | list))
    if nested:
        raise RestError(400, "API.E303", f'form values must be text, numbers, true/false or null; '
                        f'{", ".join(nested)} {"is" if len(nested) == 1 else "are"} not',
                        hint="send each form key as one plain value")
    return FormValues(data)


def _checked(values: Mapping[str, str]) -> FormValues:
    """The values, once no key or value holds NUL or a lone surrogate (see :func:`refuse_bad_text`)."""
    for key, value in values.items():
        refuse_bad_text(key, key)
        refuse_bad_text(key, value)
    return FormValues(values)


async def _from_multipart(request: Request, body: bytes) -> FormValues:
    """Parse the already size-checked body with Starlette's multipart parser; files are refused."""
    form = await multipart_form(request, body, "form", max_files=0, max_fields=200)
    return _checked(_strings(form.multi_items()))


def _strings(items: list[tuple[str, str | UploadFile]]) -> Mapping[str, str]:
    if any(isinstance(value, UploadFile) for _, value in items):
        raise RestError(400, "API.E303", "a form cannot upload files here", hint="send text values only")
    return {key: str(value) for key, value in items}
