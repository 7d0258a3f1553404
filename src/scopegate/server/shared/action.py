"""Endpoints as ordered lists of named async steps (node-oidc-provider's actions).

A step takes the :class:`Context` and returns None to continue or a response to stop.
An :class:`~scopegate.errors.OAuthError` becomes its RFC 6749 §5.2 answer; anything else
becomes a bland ``server_error`` and is logged with its detail.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence

from starlette.requests import Request
from starlette.responses import Response

from ...errors import OAuthError, ServerError
from ..http import error_response
from ..logging import logger
from .context import Context

__all__ = ["Endpoint", "Step", "action"]

Step = Callable[[Context], Awaitable[Response | None]]
Endpoint = Callable[[Request], Awaitable[Response]]


def action(name: str, steps: Sequence[Step]) -> Endpoint:
    """Build a Starlette endpoint that runs ``steps`` in order.

    :param name: the metrics and log label of this endpoint, e.g. ``"token"``.
    :param steps: the steps; the last one must return a response.
    """
    ordered = tuple(steps)

    async def endpoint(request: Request) -> Response:
        server = request.app.state.server
        ctx = Context(request=request, server=server)
        started = time.perf_counter()
        response: Response | None = None
        try:
            for step in ordered:
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
            server.metrics.oauth_errors.labels(name, exc.error).inc()
            response = error_response(exc)
        except Exception:
            logger.exception("unhandled error", extra={"endpoint": name})
            response = error_response(ServerError())
        if ctx.headers:
            response.headers.update(ctx.headers)
        measured = server.metrics.endpoint(name)
        measured.latency.observe(time.perf_counter() - started)
        measured.response(response.status_code)
        return response

    endpoint.__name__ = f"{name}_endpoint"
    return endpoint
