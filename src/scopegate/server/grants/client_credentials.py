"""RFC 6749 §4.4 client credentials: a confidential client acts as itself.

No database write on this path: the client comes from the lookup cache and the JWT
needs no stored row.
"""

from __future__ import annotations

from typing import Any

from ...errors import InvalidScope
from ...scopes import ScopeError
from ..shared.context import Context
from .base import Grant

__all__ = ["ClientCredentialsGrant", "requested_scopes"]


def requested_scopes(ctx: Context) -> frozenset[str]:
    """The canonical scopes asked for, or the client's defaults when ``scope`` is absent.

    A scope the client may not use is refused, never dropped (``invalid_scope``).
    """
    client = ctx.require_client()
    catalog = ctx.server.catalog
    raw = ctx.params.get("scope")
    try:
        wanted = client.default_scopes if raw is None else catalog.parse(raw)
        if not wanted:
            raise InvalidScope("no scope requested and the client has no default scopes")
        return catalog.narrow(client.allowed_scopes, wanted)
    except ScopeError as exc:
        raise InvalidScope(str(exc)) from None


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
        )
