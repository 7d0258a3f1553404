"""ResourceResolver: turn the URL into the resource the route acts on."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from scopegate.errors import NotFound

from ..context import GuardContext
from .base import call_app

__all__ = ["ResourceResolver"]

Resolve = Callable[[GuardContext], Any | Awaitable[Any]]
WorkspaceOf = Callable[[Any], str | None]


class ResourceResolver:
    """Calls the app's ``resolve(ctx)``; None answers 404, else ``ctx.resource`` is set.

    :param resolve: sync or async; returns the resource or None.
    :param workspace_of: names the resource's workspace (default: its ``workspace`` attribute).
    """

    def __init__(self, resolve: Resolve, *, workspace_of: WorkspaceOf | None = None) -> None:
        self.resolve = resolve
        self.workspace_of = workspace_of

    async def __call__(self, ctx: GuardContext) -> None:
        resource = await call_app(self.resolve, ctx)
        if resource is None:
            raise NotFound("no such resource")
        ctx.resource = resource
        workspace = (self.workspace_of(resource) if self.workspace_of
                     else getattr(resource, "workspace", None))
        if isinstance(workspace, str):
            ctx.workspace = workspace
