"""Token introspection (RFC 7662) for authenticated clients.

A token that is not ours, expired, forged or revoked answers ``{"active": false}``, and
so does a JWT whose ``aud`` is missing or names a resource this server does not know.
RFC 7662 §4: only the token's own client and the resource servers it is meant for (a
client registered with ``--resource-server`` for one of its audiences) learn anything;
everyone else gets ``{"active": false}`` too, so a bot cannot read other people's
tokens. ``token_type`` takes registered values (RFC 6749 §7.1): ``Bearer`` for access
tokens and API keys, ``N_A`` (RFC 8693 §3) for refresh tokens.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ...errors import InvalidRequest
from ...store.repositories import ClientRecord
from ...tokens import TokenVerificationError
from ..management.openapi import error_responses, form_body, json_response
from ..shared import Context, action
from ..shared.client_request import client_request
from ..shared.responses import JSONResponse
from ..state import ServerState

__all__ = ["PATH", "audience_values", "introspect_access_token", "may_learn", "routes"]

feature = "introspection"  # Features flag that mounts this module
PATH = "/oauth/introspect"
MAX_TOKEN_LENGTH = 8192
_INACTIVE = {"active": False}
_MEMBERS = ("scope", "client_id", "sub", "aud", "iss", "exp", "iat", "nbf", "jti",
            "subject_type", "act", "cnf")  # act: RFC 8693 §4.1; cnf: RFC 9449 §6.2


async def introspect_access_token(state: ServerState, token: str) -> dict[str, Any] | None:
    """The RFC 7662 answer for one of our JWT access tokens, or None if it is not one."""
    try:
        claims = state.signing_keys.verifier.verify(token)
    except TokenVerificationError:
        return None
    if not await _known_audience(state, claims.get("aud")):
        return dict(_INACTIVE)
    if await state.denylist.is_revoked(claims["jti"]):
        return dict(_INACTIVE)
    # RFC 9449 §6.2: a DPoP-bound token says so, with its cnf (the key's thumbprint)
    bound = isinstance(claims.get("cnf"), dict) and "jkt" in claims["cnf"]
    out: dict[str, Any] = {"active": True, "token_type": "DPoP" if bound else "Bearer"}
    out.update({k: claims[k] for k in _MEMBERS if k in claims})
    return out


def audience_values(aud: Any) -> tuple[str, ...]:
    """The values of an ``aud`` member: a string or a list of strings (RFC 7519 §4.1.3)."""
    if isinstance(aud, str):
        return (aud,)
    if isinstance(aud, list):
        return tuple(a for a in aud if isinstance(a, str))
    return ()


async def _known_audience(state: ServerState, aud: Any) -> bool:
    """Whether ``aud`` is present and names only resources this server issues tokens for
    now (a removed resource's tokens are inactive)."""
    values = audience_values(aud)
    if not values:
        return False
    known = await state.resources.identifiers()
    return all(a in known or a == state.settings.issuer for a in values)


def may_learn(caller: ClientRecord, answer: Mapping[str, Any]) -> bool:
    """RFC 7662 §4: the token's own client, or a resource server of one of its audiences."""
    if answer.get("client_id") == caller.client_id:
        return True
    return not caller.resource_servers.isdisjoint(audience_values(answer.get("aud")))


async def introspect_token(ctx: Context) -> Response | None:
    """Answer for the ``token`` parameter; ``token_type_hint`` only orders the lookups."""
    token = ctx.params.get("token")
    if not token:
        raise InvalidRequest("token is required")
    if len(token) > MAX_TOKEN_LENGTH:
        return JSONResponse(_INACTIVE)
    answer = await introspect_access_token(ctx.server, token)
    if answer is None:
        for handler in ctx.server.token_handlers:
            found = await handler.introspect(ctx.server, token)
            if found is not None:
                answer = dict(found)
                break
    if answer is None or not answer.get("active") or not may_learn(ctx.require_client(),
                                                                    answer):
        return JSONResponse(_INACTIVE)
    return JSONResponse(answer)


introspect_endpoint = action("introspect", [
    *client_request(),
    introspect_token,
])

routes: list[BaseRoute] = [
    Route(PATH, introspect_endpoint, methods=["POST"], name="introspect"),
]


openapi_paths: dict[str, Any] = {PATH: {"post": {
    "summary": "Token introspection (RFC 7662)",
    "operationId": "introspect",
    "security": [{"clientBasic": []}],
    "requestBody": form_body({"token": {"type": "string"},
                              "token_type_hint": {"type": "string"}}, ["token"]),
    "responses": {
        "200": json_response("Introspection response", {
            "type": "object", "required": ["active"],
            "properties": {"active": {"type": "boolean"}}}),
        **error_responses(400, 401, 413),
    }}}}
