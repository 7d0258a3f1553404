"""RFC 6749 §4.1.3 authorization code grant with PKCE (RFC 7636) as a hook.

A code is consumed by one atomic UPDATE before anything else is checked, so it can never
be used twice; presenting it again (a replay) revokes every token issued from it: the
refresh family and the access token's ``jti`` (RFC 6749 §4.1.2, §10.5).

A replay can arrive while the first exchange is still minting its tokens, before it has
recorded them on the code. Both sides therefore meet on the code's row, each with one
atomic UPDATE, and the database decides which came first:

1. the exchange consumes the code (``used_at``), mints the tokens (the refresh-token
   row is written while minting), then records the family id and ``jti`` on the code
   only if ``replayed_at`` is still unset;
2. a replay sets ``replayed_at``, then revokes whatever is recorded on the code.

If the replay comes second, it finds the tokens recorded and revokes them. If it comes
first, the exchange's recording matches no row: the exchange revokes what it just
minted and answers ``invalid_grant``, so the tokens never leave the server. No token
id has to be known before minting, and a single nullable column is the whole cost.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from starlette.concurrency import run_in_threadpool

from ....errors import InvalidGrant
from ....store.models import utcnow
from ....store.repositories.authorization_codes import AuthorizationCodeRecord
from ....store.repositories.users import new_id
from ...pkce import challenge as pkce
from ...refresh.tokens import revoke_family
from ...shared.context import Context
from ...shared.user_grants import (
    RefreshPlan,
    UserGrant,
    presented_secret_hash,
)
from .base import Grant

__all__ = ["AuthorizationCodeGrant", "refresh_plan_for"]

MAX_CODE_LENGTH = 128
REFRESH_TOKEN = "refresh_token"
REPLAYED = "authorization code already used; its tokens are revoked"


def refresh_plan_for(ctx: Context, scopes: frozenset[str],
                     resources: tuple[str, ...]) -> RefreshPlan | None:
    """A new refresh family if the client is registered for the refresh-token grant.

    Policy: the client's registration decides (``--grant refresh_token``), not the
    ``offline_access`` scope, so CLIs and SDKs get a refresh token without asking for
    an extra scope; the refresh grant must be enabled on the server too.
    """
    client = ctx.require_client()
    if REFRESH_TOKEN not in client.grant_types or ctx.server.grants.lookup(REFRESH_TOKEN) is None:
        return None
    return RefreshPlan(family_id=new_id("fam"), grant_scopes=scopes, resources=resources)


class AuthorizationCodeGrant(Grant):
    """Exchange a code (plus its PKCE verifier) for tokens."""

    grant_type = "authorization_code"
    allowed_params = frozenset({"code", "redirect_uri", "code_verifier"})
    allows_public_clients = True
    feature = "authorization_code"

    async def handle(self, ctx: Context) -> dict[str, Any]:
        client = ctx.require_client()
        services = ctx.server.user_grants
        code_hash = presented_secret_hash(ctx.params, "code", MAX_CODE_LENGTH)
        consumed = await run_in_threadpool(services.codes.consume, code_hash)
        if consumed is None:
            raise InvalidGrant("unknown authorization code")
        record = consumed.record
        if not consumed.first_use:
            await self._revoke_replayed(ctx, record)
            raise InvalidGrant(REPLAYED)
        if record.client_id != client.client_id:
            raise InvalidGrant("the code was issued to another client")
        if record.expires_at <= utcnow():
            raise InvalidGrant("authorization code expired")
        if ctx.params.get("redirect_uri") != record.redirect_uri:
            raise InvalidGrant("redirect_uri does not match the authorization request")
        pkce.verify(pkce.PkceChallenge(record.code_challenge, record.code_challenge_method),
                    ctx.params.get("code_verifier"))
        user = await run_in_threadpool(services.users.get, record.user_id)
        if user is None or user.disabled:
            raise InvalidGrant("the user no longer exists or is disabled")
        grant = UserGrant(user=user, auth_time=int(record.auth_time.timestamp()),
                          nonce=record.nonce, session_id=record.session_id,
                          refresh=refresh_plan_for(ctx, record.scopes, record.resources))
        response = await ctx.server.issuer.issue(
            client=client, subject=user.id, subject_type="user", scopes=record.scopes,
            resources=tuple(ctx.form.get("resource", ())) or record.resources,
            permitted_scopes=record.scopes, grant_type=self.grant_type,
            user_grant=grant)
        family_id = grant.refresh.family_id if grant.refresh else None
        access_expires_at = (datetime.fromtimestamp(grant.minted.exp, UTC)
                             if grant.minted.exp is not None else None)
        recorded = await run_in_threadpool(
            services.codes.record_tokens, code_hash, refresh_family_id=family_id,
            access_jti=grant.minted.jti, access_expires_at=access_expires_at)
        if not recorded:
            # A replay marked the code while we were minting and found nothing to revoke.
            await revoke_family(ctx.server, family_id, [(grant.minted.jti, access_expires_at)])
            raise InvalidGrant(REPLAYED)
        return response

    @staticmethod
    async def _revoke_replayed(ctx: Context, record: AuthorizationCodeRecord) -> None:
        await revoke_family(ctx.server, record.refresh_family_id,
                            [(record.access_jti, record.access_expires_at)])
