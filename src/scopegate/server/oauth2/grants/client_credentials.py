"""RFC 6749 §4.4 client credentials: a confidential client acts as itself.

No database write on this path: the client comes from the lookup cache and the JWT
needs no stored row.
"""

from __future__ import annotations

from typing import Any

from ....errors import InvalidScope
from ....scopes import ScopeError
from ...shared.context import Context
from .base import Grant

__all__ = ["ClientCredentialsGrant", "requested_scopes"]


_MAX_CACHED = 4096


def requested_scopes(ctx: Context) -> frozenset[str]:
    """The canonical scopes asked for, or the client's defaults when ``scope`` is absent.

    A scope the client may not use is refused, never dropped (``invalid_scope``).
    Successful answers are memoised per server: the catalog is immutable, so the same
    allowed set and request always narrow the same way.
    """
    client = ctx.require_client()
    raw = ctx.params.get("scope")
    memo = ctx.server.scope_memo
    key = ("client_credentials", client.allowed_scopes, client.default_scopes, raw)
    narrowed: frozenset[str] | None = memo.get(key)
    if narrowed is None:
        try:
            narrowed = ctx.server.catalog.requested(raw, client.default_scopes,
                                                    client.allowed_scopes)
        except ScopeError as exc:
            raise InvalidScope(str(exc)) from None
        if len(memo) >= _MAX_CACHED:
            memo.clear()
        memo[key] = narrowed
    return narrowed


class ClientCredentialsGrant(Grant):
    """Issue a ``service`` token whose subject is the client itself."""

    grant_type = "client_credentials"
    feature = "client_credentials"

    async def handle(self, ctx: Context) -> dict[str, Any]:
        client = ctx.require_client()
        scopes = requested_scopes(ctx)
        return await ctx.server.issuer.issue(
            client=client,
            subject=client.client_id,
            subject_type="service",
            scopes=scopes,
            resources=tuple(ctx.form.get("resource", ())),
            grant_type=self.grant_type,
            defaulted="scope" not in ctx.params,
        )
