"""``GET /metrics``: Prometheus text exposition of the server (every worker's)."""

from __future__ import annotations

from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

__all__ = ["PATH", "routes"]

feature = "metrics"  # Features flag that mounts this module
PATH = "/metrics"


async def metrics(request: Request) -> Response:
    """Render the metrics registry."""
    return Response(request.app.state.server.metrics.render(), media_type=CONTENT_TYPE_LATEST,
                    headers={"Cache-Control": "no-store"})


routes: list[BaseRoute] = [Route(PATH, metrics, methods=["GET"], name="metrics")]


openapi_paths: dict[str, Any] = {PATH: {"get": {
    "summary": "Prometheus metrics", "operationId": "metrics",
    "responses": {"200": {"description": "Prometheus text format",
                          "content": {"text/plain": {"schema": {"type": "string"}}}}}}}}
