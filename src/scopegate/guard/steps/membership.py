"""WorkspaceMembershipCheck: the caller must belong to the workspace; verdicts are cached.

The verdict lives on the token's cached :class:`AuthContext`, so a cache hit asks the
application's membership callable nothing (seed 003's ``verified_tenants``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from scopegate.errors import AccessDenied

from ..context import AuthContext, GuardContext
from .base import call_app

__all__ = ["WorkspaceMembershipCheck", "workspace_from_path"]

IsMember = Callable[[AuthContext, str], bool | Awaitable[bool]]
_MAX_VERDICTS = 256


def workspace_from_path(ctx: GuardContext) -> str | None:
    """Default workspace source: the ``workspace`` path parameter."""
    value = ctx.request.path_params.get("workspace")
    return value if isinstance(value, str) else None


class WorkspaceMembershipCheck:
    """Refuses with 403 ``access_denied`` unless ``is_member(auth, workspace)`` holds.

    :param is_member: sync or async membership test, called once per token and workspace.
    :param workspace_from: where the workspace comes from when no resolver set it.
    """

    def __init__(
        self,
        is_member: IsMember,
        *,
        workspace_from: Callable[[GuardContext], str | None] = workspace_from_path,
    ) -> None:
        self.is_member = is_member
        self.workspace_from = workspace_from

    async def __call__(self, ctx: GuardContext) -> None:
        auth = ctx.auth
        if auth is None:
            raise AccessDenied("not authenticated")
        workspace = ctx.workspace or self.workspace_from(ctx)
        if not workspace:
            raise AccessDenied("this route needs a workspace")
        ctx.workspace = workspace
        if auth.workspace is not None and auth.workspace != workspace:
            raise AccessDenied("token is bound to another workspace")
        verdict = auth.membership.get(workspace)
        if verdict is None:
            verdict = bool(await call_app(self.is_member, auth, workspace))
            if len(auth.membership) < _MAX_VERDICTS:
                auth.membership[workspace] = verdict
        if not verdict:
            raise AccessDenied("not a member of this workspace")
