"""ScopeCheck: the token must cover every scope the route declared."""

from __future__ import annotations

from scopegate.errors import InsufficientScope
from scopegate.scopes import Catalog

from ..context import GuardContext

__all__ = ["ScopeCheck"]


class ScopeCheck:
    """Refuses with 403 ``insufficient_scope`` naming ALL required scopes (for step-up).

    :param catalog: decides coverage (implication, aliases).
    :param realm: the challenge's realm.
    """

    def __init__(self, catalog: Catalog, *, realm: str | None = None) -> None:
        self.catalog = catalog
        self.realm = realm

    async def __call__(self, ctx: GuardContext) -> None:
        if ctx.required and self.catalog.missing(ctx.granted, ctx.required):
            raise InsufficientScope(ctx.required, realm=self.realm)
