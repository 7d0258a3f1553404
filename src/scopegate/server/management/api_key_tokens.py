"""API keys at the introspection (RFC 7662) and revocation (RFC 7009) endpoints.

Registered on ``ServerState.token_handlers`` when the ``api_keys`` feature is on. A string
carrying this server's key prefix is answered here: the checksum is checked first, so a
typo or a random string is ``{"active": false}`` without a store read. An active key
answers ``token_type: "Bearer"`` (how it is presented; RFC 7662 wants a registered
type), ``key_id`` (what marks it as a key), its canonical scopes as they stand *now* (stored
scopes narrowed to the owner's current role), ``sub`` (the owner), ``client_id``
(``api_key:<key id>``), ``exp``, ``workspace`` and the audiences of its scopes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool

from ...scopes import format_scope
from ...store.repositories.api_keys import ApiKeyRepository, VerifiedApiKey
from ...tokens.api_keys import checksum_ok
from ..admin.key_policy import effective_key_scopes
from ..admin.keys import revoke_key

if TYPE_CHECKING:
    from ...store.repositories import ClientRecord
    from ..state import ServerState

__all__ = ["API_KEY_CLIENT_PREFIX", "ApiKeyTokenHandler", "introspection_answer"]

API_KEY_CLIENT_PREFIX = "api_key:"
_INACTIVE: Mapping[str, Any] = {"active": False}


def introspection_answer(state: ServerState, verified: VerifiedApiKey) -> dict[str, Any]:
    """The RFC 7662 members for a valid key."""
    catalog = state.catalog
    record = verified.record
    scopes = effective_key_scopes(catalog, record.scopes, verified.roles)
    if not scopes:
        return dict(_INACTIVE)  # the owner's role no longer allows anything the key had
    out: dict[str, Any] = {
        "active": True,
        "token_type": "Bearer",
        "scope": format_scope(scopes),
        "sub": record.user_id,
        "subject_type": "user",
        "client_id": API_KEY_CLIENT_PREFIX + record.id,
        "iss": state.settings.issuer,
        "iat": int(record.created_at.timestamp()),
        "key_id": record.id,
    }
    audiences = catalog.audiences(scopes)
    if audiences:
        out["aud"] = audiences[0] if len(audiences) == 1 else list(audiences)
    if record.expires_at is not None:
        out["exp"] = int(record.expires_at.timestamp())
    if record.workspace_id is not None:
        out["workspace"] = record.workspace_id
    return out


class ApiKeyTokenHandler:
    """Introspects and revokes this server's API keys (a ``TokenHandler``)."""

    def __init__(self, repo: ApiKeyRepository) -> None:
        self.repo = repo
        self._marker = repo.prefix + "_"

    def owns(self, token: str) -> bool:
        """Whether ``token`` carries this server's key prefix (so no other handler should try)."""
        return token.startswith(self._marker)

    async def introspect(self, state: ServerState, token: str) -> Mapping[str, Any] | None:
        """The answer for one of our keys, or None if ``token`` is not key-shaped."""
        if not self.owns(token):
            return None
        if not checksum_ok(token, prefix=self.repo.prefix):
            return dict(_INACTIVE)
        verified = await run_in_threadpool(self.repo.verify, token)
        if verified is None:
            return dict(_INACTIVE)
        return introspection_answer(state, verified)

    async def revoke(self, state: ServerState, token: str, client: ClientRecord) -> bool:
        """Revoke a presented valid key (like a leaked-credential report); True if ours.

        Holding the key already grants everything revoking it could take away, so any
        authenticated client may turn off a key it was shown.
        """
        if not self.owns(token):
            return False
        if checksum_ok(token, prefix=self.repo.prefix):
            verified = await run_in_threadpool(self.repo.verify, token)
            if verified is not None:
                await run_in_threadpool(revoke_key, self.repo, verified.record.id)
        return True
