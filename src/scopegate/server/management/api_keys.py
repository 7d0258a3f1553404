"""``/api/v1/keys``: create, list, rotate and revoke a user's API keys.

Each endpoint is an ordered list of steps: ``no_store``, ``bearer_user`` (this server's
JWT access token of a *user*, whose ``aud`` names the management API and whose scopes
cover ``keys:write`` or ``keys:read``), the JSON body through a Pydantic model, then the
handler. Every check runs before the single store write, so a refused request stores
nothing. A key created or rotated never holds more than the token's scopes (nor the
owner's role): a token is delegation, never a way to widen it.

=================================  ==========  ===========================================
route                              scope       answer
=================================  ==========  ===========================================
``POST /api/v1/keys``              keys:write  201, the key (shown once) and its scopes
``GET /api/v1/keys``               keys:read   200, ``{"keys": [...]}`` without secrets
``DELETE /api/v1/keys/{id}``       keys:write  204 (revoked, idempotent)
``POST /api/v1/keys/{id}/rotate``  keys:write  200, the new key; the old one works for
                                               ``grace_period`` (default 24 h)
=================================  ==========  ===========================================
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    StringConstraints,
)
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ...errors import (
    AccessDenied,
    InvalidToken,
    NotFound,
)
from ...store.repositories.api_key_records import ApiKeyRecord
from ...store.repositories.api_keys import ApiKeyRepository as Repository
from ..admin import keys as admin_keys
from ..admin.errors import NotAMember
from ..admin.errors import NotFound as AdminNotFound
from ..admin.keys import NewKey, grace_period, key_json, plan_key, store_key
from ..ops.logs import security_event
from ..shared import Context, action, no_store
from ..shared.responses import JSONResponse
from ..state import ServerState
from .api_key_tokens import ApiKeyTokenHandler
from .bearer_user import REALM, bearer_user
from .json_body import json_body
from .openapi import BEARER_AUTH, bearer_error_responses, error_responses, json_response

__all__ = [
    "PATH",
    "READ_SCOPE",
    "WRITE_SCOPE",
    "CreateKeyBody",
    "RotateKeyBody",
    "key_json",
    "on_startup",
    "repository",
    "routes",
]

feature = "api_keys"  # Features flag that mounts this module
PATH = "/api/v1/keys"
READ_SCOPE = "keys:read"
WRITE_SCOPE = "keys:write"
_KEY_ID = re.compile(r"[0-9A-Za-z]{1,16}")

ScopeName = Annotated[str, StringConstraints(min_length=1, max_length=128)]
Duration = StrictInt | Annotated[str, StringConstraints(min_length=1, max_length=16)]


class CreateKeyBody(BaseModel):
    """``POST /api/v1/keys``: ``scopes`` (or the legacy ``scope``), lifetime, workspace."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: Annotated[str, StringConstraints(min_length=1, max_length=100,
                                           pattern=r"^[^\x00-\x1f\x7f]+$")] | None = None
    scopes: Annotated[list[ScopeName], Field(max_length=64)] | None = None
    scope: Annotated[str, StringConstraints(max_length=2048)] | None = None
    expires_in: Duration | None = None
    expires_at: AwareDatetime | None = None
    workspace: Annotated[str, StringConstraints(min_length=1, max_length=100)] | None = None


class RotateKeyBody(BaseModel):
    """``POST /api/v1/keys/{id}/rotate``: how long the old secret keeps working."""

    model_config = ConfigDict(extra="forbid")

    grace_period: Duration | None = None


# -- state -------------------------------------------------------------------------------

def on_startup(state: ServerState) -> None:
    """Create the key repository and let introspection and revocation answer for keys."""
    repo = repository(state)
    state.token_handlers.append(ApiKeyTokenHandler(repo))


def repository(state: ServerState) -> Repository:
    """The server's :class:`ApiKeyRepository` (built with the state)."""
    return state.api_keys


# -- steps -------------------------------------------------------------------------------



def _key_id(ctx: Context) -> str:
    key_id = str(ctx.request.path_params.get("key_id", ""))
    if not _KEY_ID.fullmatch(key_id):
        raise NotFound("no such API key")
    return key_id


# -- handlers ----------------------------------------------------------------------------

async def create_key(ctx: Context) -> Response:
    """Check scopes (public, within the token and the role), lifetime and workspace;
    then store once."""
    state, user_id = ctx.server, ctx.require_caller().user_id
    body = await json_body(ctx, CreateKeyBody, required=True)
    repo = repository(state)
    now = repo.clock()
    request = NewKey(name=body.name or "", scopes=body.scopes, scope=body.scope,
                     expires_in=body.expires_in, expires_at=body.expires_at,
                     workspace=body.workspace)
    plan = plan_key(state.catalog, request, now, token_scopes=ctx.require_caller().granted)
    try:
        record, key = await run_in_threadpool(store_key, repo, state.catalog, plan, user_id)
    except NotAMember:
        raise AccessDenied(f"you are not a member of workspace {body.workspace!r}") from None
    except AdminNotFound:
        raise InvalidToken("the access token's user no longer exists", realm=REALM) from None
    _key_event(ctx, "api_key_created", record)
    return JSONResponse({**key_json(state.catalog, record, now), "key": key}, status_code=201)


def _key_event(ctx: Context, event: str, record: ApiKeyRecord) -> None:
    """The security event of a new key secret: who, which key, what it may do; not the key."""
    security_event(ctx.scope, event, user_id=record.user_id, key_id=record.id,
                   scopes=list(record.scopes), workspace_id=record.workspace_id,
                   expires_at=record.expires_at.isoformat() if record.expires_at else None)


async def list_keys(ctx: Context) -> Response:
    """The caller's keys, newest first, without secrets."""
    repo = repository(ctx.server)
    records = await run_in_threadpool(
        lambda: admin_keys.list_keys(repo, user_id=ctx.require_caller().user_id))
    now = repo.clock()
    return JSONResponse({"keys": [key_json(ctx.server.catalog, r, now) for r in records]})


async def revoke_key(ctx: Context) -> Response:
    """Revoke one of the caller's keys (204 even when already revoked)."""
    key_id, repo = _key_id(ctx), repository(ctx.server)
    try:
        await run_in_threadpool(
            lambda: admin_keys.revoke_key(repo, key_id, user_id=ctx.require_caller().user_id))
    except AdminNotFound:
        raise NotFound("no such API key") from None
    return Response(status_code=204)


async def rotate_key(ctx: Context) -> Response:
    """Issue a new secret; the current one keeps working for the grace period."""
    key_id, repo = _key_id(ctx), repository(ctx.server)
    body = await json_body(ctx, RotateKeyBody, required=False)
    grace = grace_period(body.grace_period, field="grace_period")
    try:
        record, key = await run_in_threadpool(lambda: admin_keys.rotate_key(
            repo, ctx.server.catalog, key_id, grace, user_id=ctx.require_caller().user_id,
            token_scopes=ctx.require_caller().granted))
    except AdminNotFound:
        raise NotFound("no such API key") from None
    _key_event(ctx, "api_key_rotated", record)
    return JSONResponse({**key_json(ctx.server.catalog, record, repo.clock()), "key": key})


create_endpoint = action("api_keys_create", [no_store, bearer_user(WRITE_SCOPE), create_key])
list_endpoint = action("api_keys_list", [no_store, bearer_user(READ_SCOPE), list_keys])
revoke_endpoint = action("api_keys_revoke", [no_store, bearer_user(WRITE_SCOPE), revoke_key])
rotate_endpoint = action("api_keys_rotate", [no_store, bearer_user(WRITE_SCOPE), rotate_key])

routes: list[BaseRoute] = [
    Route(PATH, create_endpoint, methods=["POST"], name="api_keys_create"),
    Route(PATH, list_endpoint, methods=["GET"], name="api_keys_list"),
    Route(PATH + "/{key_id}", revoke_endpoint, methods=["DELETE"], name="api_keys_revoke"),
    Route(PATH + "/{key_id}/rotate", rotate_endpoint, methods=["POST"],
          name="api_keys_rotate"),
]


# -- OpenAPI -----------------------------------------------------------------------------

_KEY_SCHEMA: dict[str, Any] = {"type": "object", "required": ["id", "scopes", "scope"],
                               "properties": {
    "id": {"type": "string"}, "name": {"type": "string"}, "hint": {"type": "string"},
    "scopes": {"type": "array", "items": {"type": "string"},
               "description": "canonical scope names"},
    "scope": {"type": "string", "description": "legacy names, space-delimited"},
    "workspace": {"type": ["string", "null"]},
    "status": {"enum": ["active", "expired", "revoked"]},
    "key": {"type": "string", "description": "the secret; only in create/rotate answers"},
    "created_at": {"type": "string"}, "expires_at": {"type": ["string", "null"]},
    "last_used_at": {"type": ["string", "null"]}, "rotated_at": {"type": ["string", "null"]},
    "previous_secret_valid_until": {"type": ["string", "null"]},
    "revoked_at": {"type": ["string", "null"]}}}


def _json_body_schema(model: type[BaseModel], required: bool) -> dict[str, Any]:
    return {"required": required,
            "content": {"application/json": {"schema": model.model_json_schema()}}}


_KEY_ID_PARAM = [{"name": "key_id", "in": "path", "required": True,
                  "schema": {"type": "string"}}]
# Every route: 401 invalid_token and 403 insufficient_scope (with a Bearer challenge);
# 403 access_denied for a workspace the caller is not in.
_AUTH_ERRORS = bearer_error_responses(401, 403)
openapi_paths: dict[str, Any] = {
    PATH: {
        "post": {"summary": "Create an API key (keys:write)", "operationId": "api_keys_create",
                 "security": BEARER_AUTH,
                 "requestBody": _json_body_schema(CreateKeyBody, True),
                 "responses": {"201": json_response("The new key, shown once", _KEY_SCHEMA),
                               **error_responses(400, 413), **_AUTH_ERRORS}},
        "get": {"summary": "List your API keys (keys:read)", "operationId": "api_keys_list",
                "security": BEARER_AUTH,
                "responses": {"200": json_response("Your keys", {
                    "type": "object", "required": ["keys"], "properties": {"keys": {
                        "type": "array", "items": _KEY_SCHEMA}}}),
                    **_AUTH_ERRORS}},
    },
    PATH + "/{key_id}": {"delete": {
        "summary": "Revoke an API key (keys:write)", "operationId": "api_keys_revoke",
        "security": BEARER_AUTH, "parameters": _KEY_ID_PARAM,
        "responses": {"204": {"description": "Revoked (also when it already was)"},
                      **error_responses(400, 404, 413), **_AUTH_ERRORS}}},
    PATH + "/{key_id}/rotate": {"post": {
        "summary": "Rotate an API key's secret (keys:write)", "operationId": "api_keys_rotate",
        "security": BEARER_AUTH, "parameters": _KEY_ID_PARAM,
        "requestBody": _json_body_schema(RotateKeyBody, False),
        "responses": {"200": json_response("The new key, shown once", _KEY_SCHEMA),
                      **error_responses(400, 404, 413), **_AUTH_ERRORS}}},
}
