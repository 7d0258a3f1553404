"""OIDC UserInfo (OIDC Core §5.3): claims about the user behind a Bearer access token.

The token must be ours, unexpired, not revoked, meant for UserInfo (its ``aud`` names
``<issuer>/userinfo``, as every token with ``openid`` does), issued to a user, and cover
``openid``;
``profile`` adds ``name``, ``email`` adds ``email`` and ``email_verified``. Errors use
RFC 6750 §3 challenges.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from ...errors import InsufficientScope, InvalidToken, OAuthError
from ...scopes import granted_from_claims
from ...tokens import TokenVerificationError, check_bearer_token, parse_bearer
from ..management.openapi import BEARER_AUTH, bearer_error_responses, json_response
from ..shared.cors import cors_route
from ..shared.responses import NO_STORE, JSONResponse, error_response
from .id_token import userinfo_claims

if TYPE_CHECKING:
    from ..state import ServerState

__all__ = ["USERINFO_PATH", "feature", "openapi_paths", "routes"]

feature = "userinfo"
USERINFO_PATH = "/userinfo"


def _bearer(request: Request) -> str:
    token = parse_bearer(request.headers.get("authorization"))
    if token is None:
        raise InvalidToken("a Bearer access token is required")
    return check_bearer_token(token)


async def userinfo(request: Request) -> Response:
    """GET or POST ``/userinfo``."""
    state: ServerState = request.app.state.server
    try:
        token = _bearer(request)
        try:
            claims = state.signing_keys.verifier.verify(token)
        except TokenVerificationError as exc:
            raise InvalidToken("the access token is invalid or expired",
                               detail=str(exc)) from None
        if await state.denylist.is_revoked(str(claims["jti"])):
            raise InvalidToken("the access token has been revoked")
        if claims.get("subject_type") != "user":
            raise InvalidToken("this access token does not belong to a user")
        scopes = state.catalog.expand(granted_from_claims(claims) or ())
        if not state.catalog.covers(scopes, ["openid"]):
            raise InsufficientScope(["openid"])
        aud, wanted = claims.get("aud"), state.settings.userinfo_audience
        if aud != wanted and not (isinstance(aud, list) and wanted in aud):
            raise InvalidToken("this access token is not meant for userinfo: request one "
                               "with the openid scope")
        user = await run_in_threadpool(state.user_grants.users.get, str(claims["sub"]))
        if user is None or user.disabled:
            raise InvalidToken("the user no longer exists or is disabled")
        return JSONResponse(userinfo_claims(state.catalog, user, frozenset(scopes)),
                            headers=dict(NO_STORE))
    except OAuthError as exc:
        return error_response(exc)


routes: list[BaseRoute] = [
    cors_route(USERINFO_PATH, userinfo, methods=["GET", "POST"], name="userinfo"),
]


_USERINFO_OP: dict[str, Any] = {
    "summary": "OpenID Connect UserInfo (a Bearer access token covering openid)",
    "security": BEARER_AUTH,
    "responses": {"200": json_response("Claims about the user", {
        "type": "object", "required": ["sub"],
        "properties": {"sub": {"type": "string"}, "name": {"type": "string"},
                       "email": {"type": "string"}, "email_verified": {"type": "boolean"}}}),
        **bearer_error_responses(401, 403)},
}
openapi_paths: dict[str, Any] = {USERINFO_PATH: {
    "get": {**_USERINFO_OP, "operationId": "userinfo"},
    "post": {**_USERINFO_OP, "operationId": "userinfo_post"},
}}
