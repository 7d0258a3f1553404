"""Step: the management API acts only for a user holding this server's access token for it.

The token must be this server's JWT (RFC 9068, verified with the pinned algorithm), not
revoked, name the management API in ``aud`` (RFC 8707: a token for another API is refused
here), belong to a user, and cover the route's scope; anything else is answered with an
RFC 6750 challenge.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.responses import Response

from ...errors import InsufficientScope, InvalidToken, bearer_challenge
from ...scopes import granted_from_claims
from ...tokens import TokenVerificationError, check_bearer_token, parse_bearer
from ..shared.context import Caller, Context

__all__ = ["REALM", "bearer_user"]

REALM = "scopegate"


def bearer_user(required: str) -> Callable[[Context], Awaitable[Response | None]]:
    """Step: accept only this server's access token of a user that covers ``required``.

    Sets ``ctx.caller``. Answers 401 ``invalid_token`` or 403
    ``insufficient_scope`` with RFC 6750 ``WWW-Authenticate`` challenges.
    """

    async def step(ctx: Context) -> Response | None:
        token = parse_bearer(ctx.request.headers.get("authorization"))
        if token is None:
            raise InvalidToken("a bearer access token is required", realm=REALM,
                               headers={"WWW-Authenticate": bearer_challenge(REALM)})
        try:
            claims = ctx.server.signing_keys.verifier.verify(check_bearer_token(token))
        except TokenVerificationError as exc:
            raise InvalidToken("invalid or expired access token", realm=REALM,
                               detail=str(exc)) from None
        if await ctx.server.denylist.is_revoked(claims["jti"]):
            raise InvalidToken("the access token was revoked", realm=REALM)
        audience = ctx.server.settings.management_audience
        if not _names(claims.get("aud"), audience):
            raise InvalidToken("this access token is not for the management API: request "
                               f"one with resource={audience}", realm=REALM)
        subject = claims.get("sub")
        if claims.get("subject_type") != "user" or not isinstance(subject, str):
            raise InvalidToken("API keys belong to users: use a user's access token",
                               realm=REALM)
        granted = granted_from_claims(claims) or frozenset()
        if ctx.server.catalog.missing(granted, [required]):
            raise InsufficientScope([required], realm=REALM)
        ctx.caller = Caller(subject, granted)
        return None

    step.__name__ = f"bearer_user_{required.replace(':', '_')}"
    return step


def _names(aud: Any, audience: str) -> bool:
    """Whether a JWT ``aud`` claim (a string or a list, RFC 7519 §4.1.3) names ``audience``."""
    return aud == audience or (isinstance(aud, list) and audience in aud)
