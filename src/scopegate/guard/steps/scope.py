"""ScopeCheck: the token must cover every scope the route declared."""

from __future__ import annotations

from scopegate.errors import InsufficientScope
from scopegate.scopes import Catalog

from ..context import GuardContext

__all__ = ["ScopeCheck"]

_MAX_VERDICTS = 64


class ScopeCheck:
    """Refuses with 403 ``insufficient_scope`` naming ALL required scopes (for step-up).

    :param catalog: decides coverage (implication, aliases).
    :param realm: the challenge's realm.
    """

    def __init__(self, catalog: Catalog, *, realm: str | None = None) -> None:
        self.catalog = catalog
        self.realm = realm

    async def __call__(self, ctx: GuardContext) -> None:
        required, auth = ctx.required, ctx.auth
        if not required:
            return
        # The verdict for this token and this scope set is cached on the auth context.
        verdict = auth.scope_verdicts.get(required) if auth is not None else None
        if verdict is None:
            verdict = not self.catalog.missing(ctx.granted, required)
            if auth is not None and len(auth.scope_verdicts) < _MAX_VERDICTS:
                auth.scope_verdicts[required] = verdict
        if not verdict:
            raise InsufficientScope(required, realm=self.realm)
