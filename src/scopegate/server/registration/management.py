"""Client configuration endpoint (RFC 7592): read, replace or delete one's registration.

``GET``, ``PUT`` and ``DELETE`` on the ``registration_client_uri``
(``/oauth/register/<client_id>``) with ``Authorization: Bearer <registration access
token>``. Only the token's SHA-256 is stored; it is compared in constant time. A wrong
token, an unknown client, or a client that did not register itself all get the same
401 ``invalid_token`` (RFC 7592 §2.1: nothing is revealed). ``PUT`` replaces every
metadata value (what is left out returns to its default) under the rules the client was
registered with; it cannot change the client id, nor turn a public client confidential
or back. ``DELETE`` removes the client (its codes, consents and refresh tokens with it).
"""

from __future__ import annotations

import hmac
from contextlib import suppress
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from ...errors import InvalidRequest, InvalidToken
from ...store.repositories import ClientRecord
from ...tokens import verify_client_secret
from ..admin.clients import delete_client, find_client, replace_registered_client
from ..admin.errors import NotFound as AdminNotFound
from ..admin.registration import token_hash
from ..management.openapi import bearer_error_responses, error_responses, json_response
from ..shared import Context, action, no_store
from ..shared.cors import cors_route
from .endpoint import TRUSTED, policy_of, read_json
from .errors import InvalidClientMetadata
from .metadata import read_metadata
from .response import MANAGE_PATH_PREFIX, registration_response

__all__ = ["routes"]

_FORBIDDEN_IN_UPDATE = ("registration_access_token", "registration_client_uri",
                        "client_secret_expires_at", "client_id_issued_at")
_NO_MATCH = "0" * 64


async def authenticated_client(ctx: Context) -> tuple[ClientRecord, str]:
    """The self-registered client named in the path, and the token that proved it.

    :raises InvalidToken: no bearer token, a wrong one, or no such client.
    """
    policy_of(ctx.server)
    scheme, _, token = (ctx.header("authorization") or "").partition(" ")
    token = token.strip()
    client_id = ctx.request.path_params["client_id"]
    record = await run_in_threadpool(find_client, ctx.server.db, client_id) \
        if token and scheme.lower() == "bearer" and len(client_id) <= 255 else None
    stored = record.registration_token_hash if record is not None else None
    if not hmac.compare_digest(token_hash(token), stored or _NO_MATCH) or record is None:
        raise InvalidToken("the registration access token is not valid for this client")
    return record, token


async def read_registration(ctx: Context) -> Response:
    """RFC 7592 §2.1: the client's current registration."""
    record, token = await authenticated_client(ctx)
    return ctx.respond(registration_response(record, ctx.server.settings.issuer,
                                             access_token=token))


def _check_update_body(body: Any, record: ClientRecord, pepper: str) -> None:
    if not isinstance(body, dict):
        raise InvalidClientMetadata("the body must be a JSON object of client metadata")
    if body.get("client_id") != record.client_id:
        raise InvalidRequest("client_id must be given and equal the registered client_id")
    for name in _FORBIDDEN_IN_UPDATE:
        if name in body:
            raise InvalidRequest(f"{name} must not be sent in an update (RFC 7592 §2.2)")
    secret = body.get("client_secret")
    if secret is not None and not (isinstance(secret, str) and verify_client_secret(
            pepper, secret, record.secret_hash)):
        raise InvalidRequest("client_secret does not match the registered secret")


async def replace_registration(ctx: Context) -> Response:
    """RFC 7592 §2.2: replace the client's metadata; its id, secret and token stay."""
    record, token = await authenticated_client(ctx)
    state = ctx.server
    body = await read_json(ctx)
    _check_update_body(body, record, state.pepper)
    trusted = bool(record.client_metadata.get(TRUSTED))
    metadata = read_metadata(body, state.catalog, anonymous=not trusted)
    if not trusted:
        policy_of(state).check_anonymous(metadata)
    if metadata.spec.public != record.is_public:
        raise InvalidClientMetadata("token_endpoint_auth_method cannot switch between a "
                                    "public and a confidential client; register a new one")
    stored = {**metadata.stored(), TRUSTED: trusted}
    try:
        updated = await run_in_threadpool(replace_registered_client, state.db,
                                          record.client_id, metadata.spec, stored)
    except AdminNotFound:
        raise InvalidToken("the registration access token is not valid for this client"
                           ) from None
    state.clients.invalidate(record.client_id)
    return ctx.respond(registration_response(updated, state.settings.issuer,
                                             access_token=token))


async def delete_registration(ctx: Context) -> Response:
    """RFC 7592 §2.3: delete the client; 204."""
    record, _ = await authenticated_client(ctx)
    with suppress(AdminNotFound):  # deleted meanwhile: the outcome the caller wanted
        await run_in_threadpool(delete_client, ctx.server.db, record.client_id)
    ctx.server.clients.invalidate(record.client_id)
    return Response(status_code=204, headers=ctx.headers)


PATH = MANAGE_PATH_PREFIX + "{client_id}"
_BY_METHOD = {
    "GET": action("registration_read", [no_store, read_registration]),
    "PUT": action("registration_update", [no_store, replace_registration]),
    "DELETE": action("registration_delete", [no_store, delete_registration]),
}


async def registration(request: Request) -> Response:
    """RFC 7592 §2: read, replace or delete, by method (one route, so one CORS preflight)."""
    return await _BY_METHOD[request.method](request)


# Any origin, never credentials: the registration access token is the only authority.
routes: list[BaseRoute] = [cors_route(PATH, registration, methods=["GET", "PUT", "DELETE"],
                                      name="registration", public=True)]

_CLIENT_ID = [{"name": "client_id", "in": "path", "required": True,
               "schema": {"type": "string"}}]
_ANSWER = json_response("The client as registered (RFC 7592 §3)")
openapi_paths: dict[str, Any] = {PATH: {
    "get": {"summary": "Read a registration (RFC 7592 §2.1)", "operationId": "registration_read",
            "parameters": _CLIENT_ID, "security": [{"bearerAuth": []}],
            "responses": {"200": _ANSWER, **bearer_error_responses(401),
                          **error_responses(404)}},
    "put": {"summary": "Replace a registration (RFC 7592 §2.2)",
            "operationId": "registration_update", "parameters": _CLIENT_ID,
            "security": [{"bearerAuth": []}],
            "requestBody": {"required": True, "content": {"application/json": {
                "schema": {"type": "object"}}}},
            "responses": {"200": _ANSWER, **bearer_error_responses(401),
                          **error_responses(400, 404, 413)}},
    "delete": {"summary": "Delete a registration (RFC 7592 §2.3)",
               "operationId": "registration_delete", "parameters": _CLIENT_ID,
               "security": [{"bearerAuth": []}],
               "responses": {"204": {"description": "Deleted"},
                             **bearer_error_responses(401), **error_responses(404)}},
}}
