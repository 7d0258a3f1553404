"""Refresh tokens: opaque ``sgr_`` strings, stored hashed, rotated on every use.

Issued by a response hook when a user grant asks for one (policy: the client is
registered for the ``refresh_token`` grant). Rotating a token that was already rotated
(reuse, or the loser of two concurrent refreshes) revokes the whole family and
deny-lists every access token issued with it.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool

from ...errors import InvalidGrant
from ...scopes import format_scope
from ...store.models import utcnow
from ...store.repositories.refresh_tokens import NewRefreshToken
from ..dpop.binding import bound_jkt
from ..shared.user_grants import hash_secret

if TYPE_CHECKING:
    from ...store.repositories import ClientRecord
    from ..oauth2.issuance import Issued, ResponseHook
    from ..state import ServerState

__all__ = [
    "REFRESH_TOKEN_PREFIX",
    "RefreshTokenHandler",
    "looks_like_refresh_token",
    "minted_access_hook",
    "new_refresh_token",
    "refresh_token_hook",
    "revoke_family",
]

REFRESH_TOKEN_PREFIX = "sgr_"
MAX_REFRESH_TOKEN_LENGTH = 128


def new_refresh_token() -> str:
    """A fresh refresh token: the ``sgr_`` prefix and 256 random bits."""
    return REFRESH_TOKEN_PREFIX + secrets.token_urlsafe(32)


def looks_like_refresh_token(value: str) -> bool:
    """Whether ``value`` has our refresh-token shape (cheap test before a lookup)."""
    return value.startswith(REFRESH_TOKEN_PREFIX) and len(value) <= MAX_REFRESH_TOKEN_LENGTH


async def minted_access_hook(issued: Issued) -> Mapping[str, Any]:
    """Record the new access token's ``jti``/``exp`` for the grant (replay revocation)."""
    grant = issued.user_grant
    if grant is not None:
        grant.minted.jti = str(issued.claims["jti"])
        grant.minted.exp = int(issued.claims["exp"])
    return {}


def refresh_token_hook(state: ServerState) -> ResponseHook:
    """Build the hook that adds ``refresh_token`` when the grant's plan asks for one."""
    ttl = timedelta(seconds=state.settings.refresh_token_ttl)

    async def add_refresh_token(issued: Issued) -> Mapping[str, Any]:
        grant = issued.user_grant
        if grant is None or grant.refresh is None:
            return {}
        plan = grant.refresh
        repo = state.user_grants.refresh
        token = new_refresh_token()
        now = utcnow()
        access_exp = datetime.fromtimestamp(int(issued.claims["exp"]), UTC)
        row = NewRefreshToken(
            token_hash=hash_secret(token), family_id=plan.family_id,
            client_id=issued.client.client_id, user_id=grant.user.id,
            scopes=plan.grant_scopes, resources=plan.resources,
            auth_time=datetime.fromtimestamp(grant.auth_time, UTC), expires_at=now + ttl,
            access_jti=str(issued.claims["jti"]), access_expires_at=access_exp,
            # RFC 9449 §5: a public client's refresh token is bound to its DPoP key (a
            # confidential client's is bound to its authentication already)
            dpop_jkt=bound_jkt() if issued.client.is_public else None,
            session_id=grant.session_id)
        if plan.parent_hash is None:
            await run_in_threadpool(repo.add, row)
        elif not await run_in_threadpool(repo.rotate, plan.parent_hash, row, now):
            # Lost a race with another use of the same token: that is reuse.
            await revoke_family(state, plan.family_id,
                                [(str(issued.claims["jti"]), access_exp)])
            raise InvalidGrant("refresh token already used; its grant has been revoked")
        return {"refresh_token": token}

    return add_refresh_token


class RefreshTokenHandler:
    """Introspection (RFC 7662) and revocation (RFC 7009) of our refresh tokens."""

    async def introspect(self, state: ServerState, token: str) -> Mapping[str, Any] | None:
        """The introspection answer for a refresh token, or None if not ours."""
        if not looks_like_refresh_token(token):
            return None
        record = await run_in_threadpool(state.user_grants.refresh.get, hash_secret(token))
        if record is None or not record.live or record.expires_at <= utcnow():
            return {"active": False}
        return {
            "active": True,
            "token_type": "N_A",  # RFC 8693 §3: registered, "not an access token"
            "client_id": record.client_id,
            "sub": record.user_id,
            "scope": format_scope(record.scopes),
            "exp": int(record.expires_at.timestamp()),
            "iss": state.settings.issuer,
        }

    async def revoke(self, state: ServerState, token: str, client: ClientRecord) -> bool:
        """Revoke the token's family (and its access tokens) if ``client`` owns it."""
        if not looks_like_refresh_token(token):
            return False
        record = await run_in_threadpool(state.user_grants.refresh.get, hash_secret(token))
        if record is None or record.client_id != client.client_id:
            return True  # RFC 7009 §2.2: an unknown token is answered like a revoked one
        await revoke_family(state, record.family_id)
        return True


async def revoke_family(state: ServerState, family_id: str | None,
                        extra: Iterable[tuple[str | None, datetime | None]] = ()) -> int:
    """Revoke a refresh family and deny-list every access token issued with it.

    :param extra: more (jti, expiry) pairs to deny-list (e.g. a code's own access token).
    :returns: how many access-token ids were deny-listed.
    """
    services = state.user_grants
    pairs: list[tuple[str, datetime]] = [(j, e) for j, e in extra if j and e]
    if family_id:
        pairs += await run_in_threadpool(services.refresh.revoke_family, family_id)
    for jti, expires_at in dict(pairs).items():
        await state.denylist.revoke(jti, int(expires_at.timestamp()))
    return len(dict(pairs))
