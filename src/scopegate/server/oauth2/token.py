"""The token endpoint (RFC 6749 §3.2): form in, token response or §5.2 error out."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp

from ...errors import InvalidRequest, UnauthorizedClient, UnsupportedGrantType
from ..dpop import TokenEndpointDPoP, binding, dpop_proof
from ..management.openapi import error_responses, form_body, json_response
from ..shared import (
    Context,
    asgi_action,
)
from ..shared.client_request import client_request
from ..shared.cors import Cors, client_origin
from ..state import ServerState

__all__ = ["PATH", "lanes", "on_startup", "routes", "token_endpoint"]

PATH = "/oauth/token"


async def select_grant(ctx: Context) -> Response | None:
    """Find the grant for ``grant_type`` and check that this client may use it."""
    grant_type = ctx.params.get("grant_type")
    if not grant_type:
        raise InvalidRequest("grant_type is required")
    grant = ctx.server.grants.lookup(grant_type)
    if grant is None:
        raise UnsupportedGrantType(f"unsupported grant_type {grant_type[:80]!r}")
    client = ctx.require_client()
    if grant.grant_type not in client.grant_types:
        raise UnauthorizedClient(f"this client may not use {grant.grant_type}")
    if not ctx.client_authenticated and not grant.allows_public_clients:
        raise UnauthorizedClient(f"{grant.grant_type} needs a confidential client")
    ctx.grant = grant
    return None


async def run_grant(ctx: Context) -> Response | None:
    """Let the grant validate and mint the token response."""
    assert ctx.grant is not None, "select_grant runs first"
    if ctx.dpop_jkt is None:  # a bearer request (the hot path): nothing to bind
        return ctx.respond(await ctx.grant.handle(ctx))
    with binding(ctx.dpop_jkt):  # what the grant issues is bound to the proof's key
        body = await ctx.grant.handle(ctx)
    return ctx.respond(body)


def on_startup(state: ServerState) -> None:
    """DPoP's nonces and replay cache (RFC 9449), closed with the server."""
    state.dpop = TokenEndpointDPoP.from_settings(state.settings, state.session_secret, PATH)
    state.on_shutdown.append(state.dpop.replay.aclose)


# Plain ASGI (the hot path): the same named steps, without a Starlette Request per call.
token_endpoint = asgi_action("token", [
    *client_request(allow_public=True),
    client_origin,
    select_grant,
    dpop_proof,
    run_grant,
])

# Browser apps (a SPA, Swagger UI, an MCP client in a page) call it cross-origin.
_token_with_cors = Cors(token_endpoint, ["POST"])
routes: list[BaseRoute] = [Route(PATH, _token_with_cors, methods=["POST", "OPTIONS"],
                                 name="token")]
# The app calls the action directly for an exact match (server/shared/fast_lane.py); the route
# above still answers other methods and names the endpoint.
lanes: dict[tuple[str, str], ASGIApp] = {("POST", PATH): _token_with_cors,
                                         ("OPTIONS", PATH): _token_with_cors}


openapi_paths: dict[str, Any] = {PATH: {"post": {
    "summary": "Token endpoint (RFC 6749 §3.2)",
    "operationId": "token",
    "security": [{"clientBasic": []}, {}],
    "requestBody": form_body({
        "grant_type": {"type": "string", "examples": ["client_credentials"]},
        "scope": {"type": "string", "description": "space-delimited scopes"},
        "resource": {"type": "string", "description": "RFC 8707 target (repeatable)"},
        "client_id": {"type": "string"},
        "client_secret": {"type": "string"},
        # RFC 8693 token exchange (grant_type urn:ietf:params:oauth:grant-type:token-exchange)
        "subject_token": {"type": "string"},
        "subject_token_type": {"type": "string"},
        "requested_token_type": {"type": "string"},
        "audience": {"type": "string", "description": "RFC 8693 target, like resource"},
    }, ["grant_type"]),
    "responses": {
        "200": json_response("Token response (RFC 6749 §5.1)", {
            "type": "object",
            "required": ["access_token", "token_type", "expires_in"],
            "properties": {"access_token": {"type": "string"}, "token_type": {"type": "string"},
                           "expires_in": {"type": "integer"}, "scope": {"type": "string"},
                           "refresh_token": {"type": "string"},
                           "id_token": {"type": "string"},
                           "issued_token_type": {"type": "string"}}}),
        **error_responses(400, 401, 413),
    }}}}
