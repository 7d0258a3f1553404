"""The JWKS document (RFC 7517) with every published public key."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from ..shared.cors import cors_route

__all__ = ["PATH", "routes"]

PATH = "/jwks.json"


async def jwks(request: Request) -> Response:
    """Serve the pre-rendered key set; caches may keep it briefly."""
    body = request.app.state.server.signing_keys.jwks_bytes
    return Response(body, media_type="application/jwk-set+json",
                    headers={"Cache-Control": "public, max-age=300"})


routes: list[BaseRoute] = [cors_route(PATH, jwks, methods=["GET"], name="jwks", public=True)]


openapi_paths: dict[str, Any] = {PATH: {"get": {
    "summary": "Signing keys (JWKS, RFC 7517)", "operationId": "jwks",
    "responses": {"200": {"description": "JWK set", "content": {
        "application/jwk-set+json": {"schema": {"type": "object"}}}}}}}}
