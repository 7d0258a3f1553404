"""CallerMount: turn the verified token into a typed caller (identity only from the token)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from scopegate.errors import InvalidToken

from ..callers import AccountCaller, ApiKeyCaller, Caller, ServiceCaller
from ..context import AuthContext, GuardContext, TokenKind

__all__ = ["CallerMount", "default_caller"]


def default_caller(auth: AuthContext) -> Caller:
    """API key -> :class:`ApiKeyCaller`; service -> :class:`ServiceCaller`; else account."""
    act = auth.claims.get("act")
    actor = act.get("sub") if isinstance(act, Mapping) else None
    fields = (auth.subject, auth.client_id, auth.scopes, auth.workspace,
              actor if isinstance(actor, str) else None)
    if auth.kind is TokenKind.API_KEY:
        return ApiKeyCaller(*fields)
    if auth.subject_type == "service":
        return ServiceCaller(*fields)
    if auth.subject_type == "user":
        return AccountCaller(*fields)
    raise InvalidToken("unknown subject type")


class CallerMount:
    """Sets ``ctx.caller``; pass ``mount`` to map tokens to the app's own caller types."""

    def __init__(self, mount: Callable[[AuthContext], Caller] = default_caller) -> None:
        self.mount = mount

    async def __call__(self, ctx: GuardContext) -> None:
        auth = ctx.auth
        if auth is None:
            raise InvalidToken("not authenticated")
        if ctx.caller is None:
            # Callers are immutable and depend only on the token: build one per token.
            caller = auth.callers.get(self.mount)
            if caller is None:
                caller = auth.callers[self.mount] = self.mount(auth)
            ctx.caller = caller
