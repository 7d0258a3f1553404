"""RFC 6749 §6 refresh token grant: rotate on every use, narrow but never widen.

The presented token must be live, unexpired and the client's own. A token that was
already rotated is reuse (RFC 9700 §4.14.2): the whole family is revoked, with the access
tokens issued from it. ``scope`` may ask for a subset of the family's original grant
(``invalid_scope`` beyond it); the user's current role still caps it. ``resource``
(RFC 8707 §2.2) picks the new token's audience among the resources the grant covers;
without it the token is for the grant's own resource.
"""

from __future__ import annotations

import hmac
from typing import Any

from starlette.concurrency import run_in_threadpool

from ...errors import InvalidGrant, InvalidRequest, InvalidScope
from ...scopes import ScopeError
from ...store.models import utcnow
from ...tokens import InvalidDPoPProof
from ..oauth2.grants.base import Grant
from ..ops.logs import security_event
from ..shared.context import Context
from ..shared.user_grants import (
    RefreshPlan,
    UserGrant,
    cap_to_role,
    hash_secret,
)
from .tokens import MAX_REFRESH_TOKEN_LENGTH, revoke_family

__all__ = ["RefreshTokenGrant", "check_binding"]


def check_binding(bound: str | None, proved: str | None) -> None:
    """A DPoP-bound refresh token is only used with a proof of its key (RFC 9449 §5)."""
    if bound is None:
        return
    if proved is None:
        raise InvalidDPoPProof("this refresh token is bound to a DPoP key: send a DPoP "
                               "proof signed with it")
    if not hmac.compare_digest(bound, proved):
        raise InvalidGrant("this refresh token is bound to another DPoP key")


class RefreshTokenGrant(Grant):
    """Exchange a refresh token for a new access token and a new refresh token."""

    grant_type = "refresh_token"
    allowed_params = frozenset({"refresh_token"})
    allows_public_clients = True
    feature = "refresh_tokens"

    async def handle(self, ctx: Context) -> dict[str, Any]:
        client = ctx.require_client()
        state = ctx.server
        services = state.user_grants
        presented = ctx.params.get("refresh_token")
        if not presented or len(presented) > MAX_REFRESH_TOKEN_LENGTH:
            raise InvalidRequest("refresh_token is required")
        token_hash = hash_secret(presented)
        record = await run_in_threadpool(services.refresh.get, token_hash)
        if record is None or record.client_id != client.client_id:
            raise InvalidGrant("unknown refresh token")
        if record.revoked_at is not None:
            raise InvalidGrant("refresh token revoked")
        if record.rotated_at is not None:
            security_event(ctx.scope, "refresh_token_reuse", client_id=client.client_id,
                           user_id=record.user_id, family_id=record.family_id)
            await revoke_family(state, record.family_id)
            raise InvalidGrant("refresh token already used; its grant has been revoked")
        if record.expires_at <= utcnow():
            raise InvalidGrant("refresh token expired")
        check_binding(record.dpop_jkt, ctx.dpop_jkt)
        raw_scope = ctx.params.get("scope")
        try:
            scopes = record.scopes if raw_scope is None else state.catalog.narrow(
                record.scopes, state.catalog.parse(raw_scope))
        except ScopeError as exc:
            raise InvalidScope(f"a refresh may only narrow the original grant: {exc}") from None
        if not scopes:
            raise InvalidScope("scope must name at least one scope")
        user = await run_in_threadpool(services.users.get, record.user_id)
        if user is None:
            await revoke_family(state, record.family_id)
            raise InvalidGrant("the user no longer exists")
        if user.disabled:  # kept, not revoked: enabling the user again restores it
            raise InvalidGrant("the user is disabled")
        cap_to_role(state.catalog, user.role, scopes)
        plan = RefreshPlan(family_id=record.family_id, grant_scopes=record.scopes,
                           resources=record.resources, parent_hash=token_hash)
        grant = UserGrant(user=user, auth_time=int(record.auth_time.timestamp()),
                          refresh=plan, session_id=record.session_id)
        return await state.issuer.issue(
            client=client, subject=user.id, subject_type="user", scopes=scopes,
            resources=tuple(ctx.form.get("resource", ())) or record.resources,
            permitted_scopes=record.scopes, grant_type=self.grant_type,
            user_grant=grant)
