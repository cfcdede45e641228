"""``POST /w/{ws}/imports/{entity}`` and ``GET /w/{ws}/exports/{entity}``: files in and out over HTTP.

The same importer and exporter as ``stagecraft import``/``export-records``
(``metamodel.imports``), behind a bearer token and the token's role, exactly
as GraphQL applies it: an import needs ``create`` (and ``update`` to upsert
with ``key``), an export needs ``read``; fields the role hides can neither be
imported nor exported nor filtered on, and a ``records: own`` role exports only
its own records and upserts only into them.  The upload is read under a size
limit while it streams; the work runs off the event loop.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from typing import IO, Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.datastructures import UploadFile

from api.auth import CurrentPrincipal, Principal
from api.graphql.resolvers import Access
from api.rest import ErrorBody, RestError, media_type, multipart_form, read_limited_body, runtime_of
from metamodel import load_workspace_meta
from metamodel.errors import InvalidQuery, MetamodelError, NotFound
from metamodel.imports import (
    ImportOptions,
    ImportRefused,
    export_records,
    file_format,
    import_records,
    parse_order_by,
    parse_where,
)
from metamodel.records import Actor, RecordStore

router = APIRouter(tags=["imports and exports"])

#: Largest upload an import accepts (about 200,000 rows of a dozen short columns).
MAX_IMPORT_BYTES = 20 * 1024 * 1024
#: Exports are built in a temporary file that stays in memory up to this size.
_SPOOL_BYTES = 8 * 1024 * 1024
_CHUNK = 64 * 1024
MEDIA_TYPES = {"csv": "text/csv; charset=utf-8",
               "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
FORBIDDEN_COLUMNS = "MM.E609"

_UPLOAD_BODY = {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["file"],
    "properties": {"file": {"type": "string", "format": "binary",
                            "description": "A .csv (UTF-8, delimiter , ; or tab) or .xlsx file; "
                                           "the first row names the columns"}}}}}}
_DESCRIBED = {400: "The upload, filter or sort cannot be read", 401: "Missing or wrong API token",
              403: "The token's role may not do this (or names a hidden field)",
              404: "No such entity", 413: f"Upload over {MAX_IMPORT_BYTES} bytes",
              415: "Not a multipart/form-data upload",
              422: "The file as a whole cannot be imported (columns, format, encoding); nothing written"}


def _errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {s: {"model": ErrorBody, "description": _DESCRIBED[s]} for s in statuses}


def _summary_schema() -> dict[str, Any]:
    count = {"type": "integer", "minimum": 0}
    row = {"type": "object", "properties": {"row": count, "column": {"type": "string"},
                                            "reason": {"type": "string"}}}
    skipped = {"type": "object", "properties": {"column": {"type": "string"}, "reason": {"type": "string"}}}
    return {"type": "object", "properties": {
        "file": {"type": "string"}, "entity": {"type": "string"}, "dryRun": {"type": "boolean"},
        "rows": count, "created": count, "updated": count, "unchanged": count, "failed": count,
        "errorsNotListed": count, "errors": {"type": "array", "items": row},
        "skippedColumns": {"type": "array", "items": skipped}}}


# --- import ---------------------------------------------------------------------------------------------

@router.post(
    "/w/{workspace}/imports/{entity}", summary="Import records from a CSV or Excel file",
    description="Creates a record per row — or, with `key`, updates the live record whose key (id or a "
                "unique field) matches and creates the others. Headers match field names or labels in any "
                "case; `map` maps other headers. Bad rows are answered with their row number (CSV line or "
                "Excel row), column and reason, and the good rows are kept: check `failed`. Needs a role "
                f"with create (and update for `key`). At most {MAX_IMPORT_BYTES} bytes.",
    openapi_extra={"requestBody": _UPLOAD_BODY},
    responses={200: {"description": "What was imported, and every bad row",
                     "content": {"application/json": {"schema": _summary_schema()}}},
               **_errors(400, 401, 403, 404, 413, 415, 422)},
)
async def post_import(
    request: Request, principal: CurrentPrincipal,
    workspace: str = Path(examples=["spec"], description="The workspace's name"),
    entity: str = Path(examples=["Contact"], description="The entity, as the blueprint names it"),
    key: str | None = Query(None, description="Upsert key: `id` or a unique field"),
    mapping: Annotated[list[str] | None, Query(
        alias="map", description="`COLUMN=field` (repeatable); `COLUMN=` skips the column")] = None,
    ignore_unknown: bool = Query(False, alias="ignoreUnknown", description="Skip unknown columns"),
    dry_run: bool = Query(False, alias="dryRun", description="Check every row, write nothing"),
) -> JSONResponse:
    upload = await _upload(request)
    options = ImportOptions(key=key, mapping=_mapping(mapping or []), ignore_unknown=ignore_unknown,
                            dry_run=dry_run)
    try:
        summary = await run_in_threadpool(_import, request, principal, entity, upload, options)
    finally:
        await upload.close()
    return JSONResponse(summary)


def _import(request: Request, principal: Principal, entity: str, upload: UploadFile,
            options: ImportOptions) -> dict[str, Any]:
    store, access = _store_and_access(request, principal, entity)
    _require(access, entity, "create")
    if options.key is not None:
        _require(access, entity, "update")
    unreadable = frozenset(e.name for e in store.meta.blueprint.entities if not access.can(e.name, "read"))
    scoped = ImportOptions(key=options.key, mapping=options.mapping, ignore_unknown=options.ignore_unknown,
                           dry_run=options.dry_run, hidden=access.hidden, unreadable=unreadable,
                           scope=access.scoped(None), own_only=access.own_only)
    try:
        summary = import_records(store, entity, upload.file, upload.filename or "", scoped,
                                 actor=Actor(principal.user_id, principal.email))
    except ImportRefused as exc:
        status = 403 if exc.code == FORBIDDEN_COLUMNS else 422
        raise RestError(status, exc.code, exc.message, hint=exc.hint) from None
    except NotFound as exc:
        raise _no_entity(exc) from None
    except MetamodelError as exc:
        raise RestError(422, exc.code, exc.message, hint=exc.hint) from None
    return summary.as_dict()


def _mapping(items: list[str]) -> dict[str, str]:
    mapping: dict[str, str] = {}
    for item in items:
        column, sep, target = item.partition("=")
        if not sep or not column.strip():
            raise RestError(400, "API.E360", f'map "{item[:80]}" must read COLUMN=field',
                            hint="COLUMN= skips a column")
        mapping[column.strip()] = target.strip()
    return mapping


async def _upload(request: Request) -> UploadFile:
    """The ``file`` part of a multipart body read under the size limit; 400/413/415 otherwise."""
    if media_type(request) != "multipart/form-data":
        raise RestError(415, "API.E315", "send the file as multipart/form-data with a part named file",
                        hint="curl -F file=@people.csv …")
    body = await read_limited_body(request, MAX_IMPORT_BYTES)
    form = await multipart_form(request, body, "file", max_files=1, max_fields=20,
                                max_part_size=MAX_IMPORT_BYTES)
    upload = form.get("file")
    try:
        if not isinstance(upload, UploadFile):
            raise RestError(400, "API.E361", "the upload has no file part named file",
                            hint="curl -F file=@people.csv …")
        file_format(upload.filename or "")
    except ImportRefused as exc:
        await form.close()  # the parser's spooled files: nobody else closes a refused upload
        raise RestError(422, exc.code, exc.message, hint=exc.hint) from None
    except RestError:
        await form.close()
        raise
    return upload


# --- export ---------------------------------------------------------------------------------------------

@router.get(
    "/w/{workspace}/exports/{entity}", summary="Export a filtered list of records as CSV or Excel",
    description="The records the token's role may read, filtered by `where` (the GraphQL where shape as "
                "JSON) and sorted by `orderBy` (`field` or `field:desc`, comma-separated). The header is "
                "the field names (hidden fields left out); references are ids, tags are joined with `, `. "
                "The file imports back unchanged (`key=id`).",
    responses={200: {"description": "The file", "content": {
        MEDIA_TYPES["csv"]: {"schema": {"type": "string"}},
        MEDIA_TYPES["xlsx"]: {"schema": {"type": "string", "format": "binary"}}}},
        **_errors(400, 401, 403, 404)},
)
async def get_export(
    request: Request, principal: CurrentPrincipal,
    workspace: str = Path(examples=["spec"], description="The workspace's name"),
    entity: str = Path(examples=["Contact"], description="The entity, as the blueprint names it"),
    fmt: str = Query("csv", alias="format", pattern="^(csv|xlsx)$", description="csv or xlsx"),
    where: str | None = Query(None, description='A filter as JSON, e.g. {"amount": {"gte": 1000}}'),
    order_by: str | None = Query(None, alias="orderBy", description="e.g. `amount:desc,title`"),
) -> StreamingResponse:
    out, count = await run_in_threadpool(_export, request, principal, entity, fmt, where, order_by)
    headers = {"Content-Disposition": f'attachment; filename="{entity}.{fmt}"', "X-Record-Count": str(count)}
    return StreamingResponse(_chunks(out), media_type=MEDIA_TYPES[fmt], headers=headers)


def _export(request: Request, principal: Principal, entity: str, fmt: str, where: str | None,
            order_by: str | None) -> tuple[IO[bytes], int]:
    store, access = _store_and_access(request, principal, entity)
    _require(access, entity, "read")
    out = tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES)  # noqa: SIM115  (closed by _chunks)
    try:
        filters = access.scoped(parse_where(store.meta, where))
        order = parse_order_by(store.meta, [order_by or ""])
        count = export_records(store, entity, out, fmt, where=filters, order_by=order, hidden=access.hidden)
    except InvalidQuery as exc:
        out.close()
        status = 403 if exc.code == "FORBIDDEN" else 400
        raise RestError(status, exc.code, exc.message, hint=exc.hint) from None
    except MetamodelError as exc:
        out.close()
        raise RestError(400, exc.code, exc.message, hint=exc.hint) from None
    except BaseException:
        out.close()
        raise
    out.seek(0)
    return out, count


def _chunks(out: IO[bytes]) -> Iterator[bytes]:
    try:
        while chunk := out.read(_CHUNK):
            yield chunk
    finally:
        out.close()


# --- shared ---------------------------------------------------------------------------------------------

def _store_and_access(request: Request, principal: Principal, entity: str) -> tuple[RecordStore, Access]:
    runtime = runtime_of(request)
    meta = load_workspace_meta(runtime.engine, principal.workspace)
    if meta.blueprint.find_entity(entity) is None:
        raise _no_entity(NotFound(f'there is no entity "{entity}"'))
    return RecordStore(runtime.engine, meta, runtime.clock), Access.of(meta, principal)


def _require(access: Access, entity: str, action: str) -> None:
    if not access.can(entity, action):
        raise RestError(403, "FORBIDDEN", f"your role may not {action} {entity} records",
                        hint="ask for a token of a role that may")


def _no_entity(exc: NotFound) -> RestError:
    return RestError(404, "API.E362", exc.message, hint="name the entity as the blueprint does, e.g. Contact")
