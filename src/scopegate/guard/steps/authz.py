"""ResourceAuthz: the application's last word on this caller and this resource."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from scopegate.errors import AccessDenied

from ..context import GuardContext
from .base import call_app

__all__ = ["ResourceAuthz"]

Authorize = Callable[[GuardContext], bool | Awaitable[bool]]


class ResourceAuthz:
    """Refuses with 403 ``access_denied`` unless ``authorize(ctx)`` returns True."""

    def __init__(self, authorize: Authorize) -> None:
        self.authorize = authorize

    async def __call__(self, ctx: GuardContext) -> None:
        if await call_app(self.authorize, ctx) is not True:
            raise AccessDenied("not allowed on this resource")
