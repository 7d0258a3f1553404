"""Token introspection (RFC 7662) for authenticated clients.

A token that is not ours, expired, forged or revoked answers ``{"active": false}``.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ...errors import InvalidRequest
from ...tokens import TokenVerificationError
from ..http import JSONResponse
from ..shared import Context, action, client_auth, no_store, parse_form, reject_duplicates
from ..state import ServerState
from .openapi import error_responses, form_body, json_response

__all__ = ["PATH", "introspect_access_token", "routes"]

feature = "introspection"  # Features flag that mounts this module
PATH = "/oauth/introspect"
MAX_TOKEN_LENGTH = 8192
_INACTIVE = {"active": False}
_MEMBERS = ("scope", "client_id", "sub", "aud", "iss", "exp", "iat", "nbf", "jti",
            "subject_type")


async def introspect_access_token(state: ServerState, token: str) -> dict[str, Any] | None:
    """The RFC 7662 answer for one of our JWT access tokens, or None if it is not one."""
    try:
        claims = state.keys.verifier.verify(token)
    except TokenVerificationError:
        return None
    jti = claims.get("jti")
    if not isinstance(jti, str) or await state.denylist.is_revoked(jti):
        return dict(_INACTIVE)
    out: dict[str, Any] = {"active": True, "token_type": "Bearer"}
    out.update({k: claims[k] for k in _MEMBERS if k in claims})
    return out


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
    return JSONResponse(answer if answer is not None else _INACTIVE)


introspect_endpoint = action("introspect", [
    no_store,
    parse_form,
    reject_duplicates(),
    client_auth(),
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
