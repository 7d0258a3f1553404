"""Endpoints as ordered lists of named async steps (node-oidc-provider's actions).

A step takes the :class:`Context` and returns None to continue or a response to stop.
An :class:`~scopegate.errors.OAuthError` becomes its RFC 6749 §5.2 answer; an unreachable
database a 503 ``temporarily_unavailable`` (logged once per outage, see ``outage.py``);
anything else becomes a bland ``server_error`` and is logged with its detail.

:func:`action` makes a Starlette endpoint (``request -> response``); :func:`asgi_action`
makes a plain ASGI app of the same steps for hot endpoints (the token endpoint): no
``Request`` object, no per-request exception-handler wrapping, and the response sent
straight to the server. Both run the steps through one :class:`Action`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from ...errors import OAuthError, ServerError
from ...store import DatabaseUnavailable
from ..ops.logs import logger
from ..ops.outage import unavailable
from .context import Context
from .responses import error_response

if TYPE_CHECKING:
    from ..state import ServerState

__all__ = ["Action", "Endpoint", "Step", "action", "asgi_action"]

Step = Callable[[Context], Awaitable[Response | None]]
Endpoint = Callable[[Request], Awaitable[Response]]


class Action:
    """Runs an endpoint's steps; called as a plain ASGI app (see :func:`asgi_action`).

    :param name: the metrics and log label of this endpoint, e.g. ``"token"``.
    :param steps: the steps; the last one must return a response.
    """

    __slots__ = ("name", "steps")

    def __init__(self, name: str, steps: Sequence[Step]) -> None:
        self.name = name
        self.steps = tuple(steps)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        server: ServerState = scope["app"].state.server
        ctx = Context(server=server, scope=scope, receive=receive)
        response = await self.run(ctx)
        await response(scope, receive, send)

    async def run(self, ctx: Context) -> Response:
        """Run the steps on ``ctx`` and return the response (errors become answers)."""
        name = self.name
        response: Response | None = None
        try:
            for step in self.steps:
                response = await step(ctx)
                if response is not None:
                    break
            if response is None:
                raise RuntimeError(f"endpoint {name!r} ended without a response")
        except OAuthError as exc:
            if exc.status_code >= 500:
                logger.error("oauth server error", extra={"endpoint": name,
                                                          "detail": exc.detail})
            elif exc.detail:
                logger.info("request refused", extra={"endpoint": name, "error": exc.error,
                                                      "detail": exc.detail})
            ctx.server.metrics.error(name, exc.error)
            response = error_response(exc)
        except DatabaseUnavailable:  # the store logged the outage once; no traceback here
            outage = unavailable()
            ctx.server.metrics.error(name, outage.error)
            response = error_response(outage)
        except Exception:
            logger.exception("unhandled error", extra={"endpoint": name})
            response = error_response(ServerError())
        if ctx.headers:
            response.headers.update(ctx.headers)
        return response


def action(name: str, steps: Sequence[Step]) -> Endpoint:
    """Build a Starlette endpoint that runs ``steps`` in order.

    :param name: the metrics and log label of this endpoint, e.g. ``"token"``.
    :param steps: the steps; the last one must return a response.
    """
    runner = Action(name, steps)

    async def endpoint(request: Request) -> Response:
        ctx = Context(server=request.app.state.server, request=request)
        return await runner.run(ctx)

    endpoint.__name__ = f"{name}_endpoint"
    return endpoint


def asgi_action(name: str, steps: Sequence[Step]) -> Action:
    """Build a plain ASGI app that runs ``steps`` in order (mount it with a ``Route``).

    :param name: the metrics and log label of this endpoint, e.g. ``"token"``.
    :param steps: the steps; the last one must return a response.
    """
    return Action(name, steps)
