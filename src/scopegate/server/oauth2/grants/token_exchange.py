"""RFC 8693 token exchange, for down-scoping and delegation.

An API that received a user's access token (as a resource server) trades it for a token
for a downstream API, with at most the scopes it needs there. The new token keeps the
user as ``sub`` and names the API in ``act`` (§4.1; nested when the subject token already
had one), so the downstream API sees who acts for whom.

What a client may get is never more than: the subject token's scopes, the scopes the
client may request, the scopes the target resource offers (and the user's role). The
token ends no later than the subject token. Only ``access_token`` is issued; no refresh
token (the API exchanges again while the user's token lives). ``actor_token`` is not
supported: the actor is always the authenticated client.

Errors (§2.2.2): an unacceptable subject token or request is ``invalid_request``; a
scope beyond the limits ``invalid_scope``; an unknown or unoffered target
``invalid_target``. Nothing is stored: the token is a JWT; the exchange is audited.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from starlette.concurrency import run_in_threadpool

from ....errors import InvalidRequest, InvalidScope, InvalidTarget
from ....scopes import ScopeError, resource_scopes
from ...shared.context import Context
from ...shared.user_grants import cap_to_role
from ..resources import Resource
from .base import Grant
from .registry import GRANT_TYPE_URN_PREFIX
from .subject_token import SubjectToken, verify_subject_token

__all__ = ["ACCESS_TOKEN_TYPE", "TOKEN_EXCHANGE", "TokenExchangeGrant"]

TOKEN_EXCHANGE = GRANT_TYPE_URN_PREFIX + "token-exchange"
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"
MAX_TARGET_LENGTH = 2000

audit = logging.getLogger("scopegate.audit")


def _require_supported(params: dict[str, str]) -> str:
    """The subject token, once the request's token types are ones we handle."""
    subject_token = params.get("subject_token")
    if not subject_token:
        raise InvalidRequest("subject_token is required (RFC 8693 §2.1)")
    subject_type = params.get("subject_token_type")
    if not subject_type:
        raise InvalidRequest("subject_token_type is required (RFC 8693 §2.1)")
    if subject_type != ACCESS_TOKEN_TYPE:
        raise InvalidRequest(f"subject_token_type {subject_type[:100]!r} is not supported; "
                             f"send {ACCESS_TOKEN_TYPE}")
    requested = params.get("requested_token_type")
    if requested is not None and requested != ACCESS_TOKEN_TYPE:
        raise InvalidRequest(f"requested_token_type {requested[:100]!r} is not supported; "
                             f"only {ACCESS_TOKEN_TYPE} is issued")
    if "actor_token" in params or "actor_token_type" in params:
        raise InvalidRequest("actor_token is not supported: the actor is the authenticated "
                             "client; send the request without actor_token")
    return subject_token


def _target_name(ctx: Context) -> str:
    """The one downstream API named by ``resource`` and/or ``audience`` (RFC 8693 §2.1)."""
    names: list[str] = list(dict.fromkeys([*ctx.form.get("resource", ()),
                                           *ctx.form.get("audience", ())]))
    if not names:
        raise InvalidRequest("name the downstream API with resource (or audience)")
    if len(names) > 1:
        raise InvalidTarget("name one downstream API: a token serves one resource")
    if len(names[0]) > MAX_TARGET_LENGTH:
        raise InvalidTarget(f"resource longer than {MAX_TARGET_LENGTH} characters")
    return names[0]


async def _scopes(ctx: Context, subject: SubjectToken, resource: Resource) -> frozenset[str]:
    """The scopes to issue: requested (or all that fit), within every limit, else refused."""
    catalog = ctx.server.catalog
    client = ctx.require_client()
    try:
        held = catalog.parse(subject.scope)
    except ScopeError:
        raise InvalidRequest("subject_token refused: its scope is not readable here") from None
    limit = catalog.intersect(catalog.intersect(held, client.allowed_scopes), resource.scopes)
    raw = ctx.params.get("scope")
    if raw is None:
        scopes = limit
    else:
        try:
            wanted = catalog.parse(raw)
        except ScopeError as exc:
            raise InvalidScope(str(exc)) from None
        try:
            catalog.narrow(held, wanted)
        except ScopeError as exc:
            raise InvalidScope(f"more than the subject token carries: {exc}") from None
        scopes = resource_scopes(catalog, wanted, limit)
        beyond = catalog.missing(scopes, wanted)
        if beyond:
            raise InvalidScope(f"{' '.join(sorted(beyond))} is not offered by "
                               f"{resource.identifier[:200]!r} or not allowed to this client")
    if not scopes:
        raise InvalidScope(f"nothing to issue: none of the subject token's scopes is offered "
                           f"by {resource.identifier[:200]!r} and allowed to this client")
    if subject.subject_type == "user":
        user = await run_in_threadpool(ctx.server.user_grants.users.get, subject.subject)
        if user is not None:
            cap_to_role(catalog, user.role, scopes)
    return scopes


def _lifetime(ctx: Context, subject: SubjectToken) -> int:
    """Seconds the new token lives: the server's access-token TTL, never past the subject."""
    ttl = ctx.server.issuer.access_token_ttl
    if subject.expires_at is not None:
        ttl = min(ttl, int(subject.expires_at - time.time()))
    if ttl <= 0:
        raise InvalidRequest("subject_token refused: it has expired")
    return ttl


class TokenExchangeGrant(Grant):
    """Trade a subject token for a narrower token for another API, with ``act``."""

    grant_type = TOKEN_EXCHANGE
    allowed_params = frozenset({"subject_token", "subject_token_type", "requested_token_type",
                                "audience", "actor_token", "actor_token_type"})
    feature = "token_exchange"

    async def handle(self, ctx: Context) -> dict[str, Any]:
        client = ctx.require_client()
        token = _require_supported(ctx.params)
        name = _target_name(ctx)
        resource = await ctx.server.resources.get(name)
        if resource is None:
            raise InvalidTarget(f"no resource server {name[:200]!r} is registered here")
        subject = await verify_subject_token(ctx.server, client, token)
        scopes = await _scopes(ctx, subject, resource)
        act: dict[str, Any] = {"sub": client.client_id}
        if subject.act is not None:
            act["act"] = dict(subject.act)
        response = await ctx.server.issuer.issue(
            client=client, subject=subject.subject,
            subject_type="service" if subject.subject_type == "service" else "user",
            scopes=scopes, audience=(resource.identifier,), extra_claims={"act": act},
            grant_type=self.grant_type, ttl=_lifetime(ctx, subject))
        response["issued_token_type"] = ACCESS_TOKEN_TYPE
        audit.info("token exchanged for %s", resource.identifier, extra={
            "audit": True, "event": "token.exchange", "subject": subject.subject,
            "actor": client.client_id, "subject_client_id": subject.client_id,
            "subject_jti": subject.jti, "target": resource.identifier,
            "scopes": sorted(scopes), "act": act, "expires_in": response["expires_in"]})
        return response
