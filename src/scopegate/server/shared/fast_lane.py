"""A Starlette app that hands a few exact (method, path) pairs straight to a plain ASGI app.

Starlette's own stack (error middleware, exception middleware, router, route match) costs
~7 µs per request, a tenth of a token request's server time. The token endpoint already
answers every error itself (:class:`~scopegate.server.shared.Action`), so for an exact
match it is called directly. Its ``Route`` stays in the routing table (405 for other
methods, ``url_path_for``, OpenAPI). The lane is skipped whenever the app has middleware
(which must see every request) or runs under a ``root_path``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.applications import Starlette
from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["FastLaneStarlette"]


class FastLaneStarlette(Starlette):
    """:class:`~starlette.applications.Starlette` with exact-match fast lanes.

    :param lanes: plain ASGI apps by ``(METHOD, path)``; each must answer every request,
        errors included, by itself.
    """

    def __init__(self, *args: Any, lanes: Mapping[tuple[str, str], ASGIApp],
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lanes = dict(lanes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not self.user_middleware and not scope.get("root_path"):
            lane = self.lanes.get((scope["method"], scope["path"]))
            if lane is not None:
                scope["app"] = self
                await lane(scope, receive, send)
                return
        await super().__call__(scope, receive, send)
