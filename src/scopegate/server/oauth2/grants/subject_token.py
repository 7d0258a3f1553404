"""The ``subject_token`` of a token exchange (RFC 8693 §2.1), checked as a resource server
would check it, and more: the server knows what a guard may not have heard yet.

Accepted: this server's JWT access tokens and the bearer strings its token handlers
answer for (API keys), both presented as ``urn:ietf:params:oauth:token-type:access_token``
(RFC 8693 §3: an access token issued by this server). A refresh token is not one.

A subject token is refused when its signature or issuer is not ours, it has expired, its
``jti`` is on the deny-list, its user or client was cut off by an admin change after it
was issued (the ``sub:``/``client:`` revocations every replica keeps), its user no longer
exists or is disabled, or it was not issued for an API the exchanging client serves.
RFC 8693 §2.2.2 names the error for all of these: ``invalid_request``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from starlette.concurrency import run_in_threadpool

from ....errors import InvalidRequest
from ....store.repositories import ClientRecord
from ....tokens import TokenVerificationError
from ...state import ServerState
from ..introspect import audience_values

__all__ = ["MAX_SUBJECT_TOKEN_LENGTH", "SubjectToken", "verify_subject_token"]

MAX_SUBJECT_TOKEN_LENGTH = 8192
MAX_ACT_DEPTH = 8  # a longer delegation chain is a loop or an abuse, not a design


@dataclass(frozen=True, slots=True)
class SubjectToken:
    """What the exchange keeps of a valid subject token.

    :param expires_at: its ``exp`` (epoch seconds), or None for a key without expiry.
    :param act: its own ``act`` claim (it was exchanged before), else None.
    """

    subject: str
    subject_type: str
    client_id: str
    scope: str
    audiences: tuple[str, ...]
    expires_at: float | None
    jti: str | None
    act: Mapping[str, Any] | None


def refused(why: str) -> InvalidRequest:
    """The RFC 8693 §2.2.2 error for an unacceptable subject token."""
    return InvalidRequest(f"subject_token refused: {why}")


async def _claims(state: ServerState, token: str) -> Mapping[str, Any]:
    """The verified claims of a JWT of ours, or the introspection answer of a key."""
    if token.count(".") == 2:
        try:
            return state.signing_keys.verifier.verify(token)
        except TokenVerificationError as exc:
            raise refused(f"not a valid access token from this server ({exc.description})"
                          ) from None
    for handler in state.token_handlers:
        answer = await handler.introspect(state, token)
        if answer is None:
            continue
        if not answer.get("active"):
            raise refused("it is revoked, expired or unknown")
        if answer.get("token_type") != "Bearer":  # e.g. a refresh token (N_A)
            raise refused("it is not an access token")
        return answer
    raise refused("not an access token from this server")


async def _check_live(state: ServerState, claims: Mapping[str, Any]) -> None:
    """Not revoked by ``jti``, nor cut off by subject or client; the user still active."""
    jti = claims.get("jti")
    if isinstance(jti, str) and await state.denylist.is_revoked(jti):
        raise refused("it has been revoked")
    if claims.get("subject_type", "user") == "user":
        user = await run_in_threadpool(state.user_grants.users.get, str(claims["sub"]))
        if user is None or user.disabled:
            raise refused("its user no longer exists or is disabled")
    issued = claims.get("iat")
    issued_at = float(issued) if isinstance(issued, int | float) else 0.0
    keys = (f"sub:{claims['sub']}", f"client:{claims['client_id']}")
    if state.revocations.denies(keys, issued_at):
        raise refused("its user's or client's tokens were revoked after it was issued")


def _act_depth(act: Any) -> int:
    depth = 0
    while isinstance(act, Mapping):
        depth += 1
        act = act.get("act")
    return depth


async def verify_subject_token(state: ServerState, client: ClientRecord,
                               token: str) -> SubjectToken:
    """Check ``token`` for an exchange by ``client`` (see the module docstring).

    :raises InvalidRequest: the token is unacceptable, with the reason.
    """
    if len(token) > MAX_SUBJECT_TOKEN_LENGTH:
        raise refused(f"longer than {MAX_SUBJECT_TOKEN_LENGTH} characters")
    claims = await _claims(state, token)
    exp = claims.get("exp")
    expires_at = float(exp) if isinstance(exp, int | float) else None
    if expires_at is not None and expires_at <= time.time():
        raise refused("it has expired")
    await _check_live(state, claims)
    audiences = audience_values(claims.get("aud"))
    if client.resource_servers.isdisjoint(audiences):
        raise refused("it was not issued for an API this client serves (register the "
                      "client with --resource-server for the API that received it)")
    act = claims.get("act")
    if act is not None and (not isinstance(act, Mapping) or _act_depth(act) >= MAX_ACT_DEPTH):
        raise refused(f"its delegation chain is malformed or longer than {MAX_ACT_DEPTH}")
    scope = claims.get("scope")
    return SubjectToken(
        subject=str(claims["sub"]), subject_type=str(claims.get("subject_type", "user")),
        client_id=str(claims["client_id"]), scope=scope if isinstance(scope, str) else "",
        audiences=audiences, expires_at=expires_at,
        jti=claims.get("jti") if isinstance(claims.get("jti"), str) else None, act=act)
