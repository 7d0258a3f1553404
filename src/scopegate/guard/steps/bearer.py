"""BearerCheck: authenticate the request's token (identity + the one rate-limit hit)."""

from __future__ import annotations

from ..authenticate import Authenticator
from ..context import GuardContext

__all__ = ["BearerCheck"]


class BearerCheck:
    """Delegates to :meth:`Authenticator.authenticate_context`, so it never double-counts."""

    def __init__(self, authenticator: Authenticator) -> None:
        self.authenticator = authenticator

    async def __call__(self, ctx: GuardContext) -> None:
        await self.authenticator.authenticate_context(ctx)
