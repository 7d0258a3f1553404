"""The client registration endpoint (RFC 7591 §3): ``POST /oauth/register``.

Steps: no-store; the policy says whether the caller is anonymous or brought an initial
access token (:mod:`.policy`); an anonymous caller is counted per address; the JSON body
(at most 16 KiB) is checked (:mod:`.metadata`) and held to the policy; then the admin
layer stores the client in one insert — registration is one more caller of
:func:`~scopegate.server.admin.clients.register_client`. The answer is 201 with the
client's id, its secret (confidential clients only), a registration access token for
RFC 7592 (:mod:`.management`), and the metadata as registered.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response
from starlette.routing import BaseRoute

from ...errors import InvalidRequest, NotFound, RequestTooLarge
from ...store.repositories.clients import Registration
from ..admin.clients import register_client
from ..admin.registration import new_registration_access_token
from ..management.openapi import error_responses, json_response
from ..pages.throttle import client_address
from ..shared import Context, action, no_store, read_body
from ..shared.cors import cors_route
from ..state import ServerState
from .metadata import ClientMetadata, read_metadata
from .policy import RegistrationPolicy
from .response import INTERNAL_PREFIX, REGISTER_PATH, registration_response

__all__ = ["MAX_BODY_BYTES", "TRUSTED", "on_startup", "policy_of", "read_json", "routes", "setup"]

MAX_BODY_BYTES = 16 * 1024
TRUSTED = INTERNAL_PREFIX + "initial_access_token"  # registered with an initial token


def policy_of(state: ServerState) -> RegistrationPolicy:
    """The running server's registration policy (set at start-up)."""
    policy = state.registration
    if not isinstance(policy, RegistrationPolicy) or not policy.enabled:
        raise NotFound("client registration is off on this server")
    return policy


async def read_json(ctx: Context) -> Any:
    """The request's JSON body, at most :data:`MAX_BODY_BYTES`.

    :raises InvalidRequest: not ``application/json``, or not JSON at all.
    """
    media = (ctx.header("content-type") or "").partition(";")[0].strip().lower()
    if media != "application/json":
        raise InvalidRequest("Content-Type must be application/json")
    body = await read_body(ctx)
    if len(body) > MAX_BODY_BYTES:
        raise RequestTooLarge(f"client metadata is limited to {MAX_BODY_BYTES} bytes")
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        raise InvalidRequest("the body is not valid JSON") from None


async def checked_metadata(ctx: Context, policy: RegistrationPolicy, anonymous: bool
                           ) -> ClientMetadata:
    """Read and check the body, holding an anonymous caller to the open policy."""
    metadata = read_metadata(await read_json(ctx), ctx.server.catalog, anonymous=anonymous)
    if anonymous:
        policy.check_anonymous(metadata)
    return metadata


async def register(ctx: Context) -> Response:
    """Register the client the body describes; 201 with its credentials."""
    state = ctx.server
    policy = policy_of(state)
    anonymous = policy.caller_is_anonymous(ctx)
    if anonymous:
        await policy.admit(client_address(ctx.request))
    metadata = await checked_metadata(ctx, policy, anonymous)
    token, digest = new_registration_access_token()
    stored = {**metadata.stored(), TRUSTED: not anonymous}
    record, secret = await run_in_threadpool(
        register_client, state.db, state.pepper, metadata.spec,
        registration=Registration(token_hash=digest, metadata=stored))
    body = registration_response(record, state.settings.issuer, secret=secret,
                                 access_token=token)
    return ctx.respond(body, status_code=201)


def on_startup(state: ServerState) -> None:
    """Build the policy (its limiter closes with the server)."""
    setup(state)


def setup(state: ServerState) -> RegistrationPolicy:
    """Install the registration policy, the metadata-document resolver and the hook that
    records when a self-registered client is used; return the policy."""
    from .documents import ClientDocuments
    from .usage import record_use_hook

    policy = RegistrationPolicy.from_settings(state.settings)
    state.registration = policy
    state.on_shutdown.append(policy.limiter.aclose)
    if state.settings.client_id_documents:
        state.clients.documents = ClientDocuments.from_state(state)
        state.on_shutdown.append(state.clients.documents.aclose)
    state.issuer.response_hooks.append(record_use_hook(state))
    return policy


# Any origin, never credentials: a browser app registering itself has no origin on record.
routes: list[BaseRoute] = [
    cors_route(REGISTER_PATH, action("register", [no_store, register]), methods=["POST"],
               name="register", public=True),
]

_METADATA_SCHEMA: dict[str, Any] = {"type": "object", "properties": {
    "redirect_uris": {"type": "array", "items": {"type": "string"}, "maxItems": 10},
    "client_name": {"type": "string", "maxLength": 100},
    "grant_types": {"type": "array", "items": {"type": "string"}},
    "response_types": {"type": "array", "items": {"type": "string", "enum": ["code"]}},
    "token_endpoint_auth_method": {"type": "string",
                                   "enum": ["none", "client_secret_basic",
                                            "client_secret_post"]},
    "scope": {"type": "string"},
}}
openapi_paths: dict[str, Any] = {REGISTER_PATH: {"post": {
    "summary": "Dynamic client registration (RFC 7591)",
    "operationId": "register_client",
    "requestBody": {"required": True,
                    "content": {"application/json": {"schema": _METADATA_SCHEMA}}},
    "responses": {"201": json_response("The client as registered (RFC 7591 §3.2.1)"),
                  **error_responses(400, 401, 404, 413, 429)},
}}}
