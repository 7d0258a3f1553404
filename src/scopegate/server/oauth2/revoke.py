"""Token revocation (RFC 7009).

JWT access tokens are revoked by putting their ``jti`` on the deny-list until they
expire. An unknown or invalid token still answers 200 (RFC 7009 §2.2); a token issued
to another client is refused.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response
from starlette.routing import BaseRoute

from ...errors import InvalidRequest, UnauthorizedClient
from ...tokens import TokenVerificationError
from ..management.openapi import error_responses, form_body
from ..shared import Context, action
from ..shared.client_request import client_request
from ..shared.cors import client_origin, cors_route

__all__ = ["PATH", "routes"]

feature = "revocation"  # Features flag that mounts this module
PATH = "/oauth/revoke"
MAX_TOKEN_LENGTH = 8192


async def revoke_token(ctx: Context) -> Response | None:
    """Revoke the ``token`` parameter if it belongs to the calling client."""
    token = ctx.params.get("token")
    if not token:
        raise InvalidRequest("token is required")
    client = ctx.require_client()
    if len(token) <= MAX_TOKEN_LENGTH:
        try:
            claims = ctx.server.signing_keys.verifier.verify(token)
        except TokenVerificationError:
            for handler in ctx.server.token_handlers:
                if await handler.revoke(ctx.server, token, client):
                    break
        else:
            if claims.get("client_id") != client.client_id:
                raise UnauthorizedClient("the token was not issued to this client")
            await ctx.server.denylist.revoke(claims["jti"], int(claims["exp"]))
    return Response(status_code=200)


revoke_endpoint = action("revoke", [
    *client_request(allow_public=True),
    client_origin,
    revoke_token,
])

routes: list[BaseRoute] = [cors_route(PATH, revoke_endpoint, methods=["POST"], name="revoke")]


openapi_paths: dict[str, Any] = {PATH: {"post": {
    "summary": "Token revocation (RFC 7009)",
    "operationId": "revoke",
    "security": [{"clientBasic": []}],
    "requestBody": form_body({"token": {"type": "string"},
                              "token_type_hint": {"type": "string"}}, ["token"]),
    "responses": {"200": {"description": "Revoked, or the token was not valid"},
                  **error_responses(400, 401, 413)}}}}
