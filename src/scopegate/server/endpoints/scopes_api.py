"""``GET /api/v1/scopes``: the public scope catalog (name, description, aliases, audience)."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ...scopes import Catalog
from .openapi import json_response

__all__ = ["PATH", "public_catalog", "routes"]

PATH = "/api/v1/scopes"


def public_catalog(catalog: Catalog) -> list[dict[str, Any]]:
    """The public scopes as JSON-ready dicts, sorted by name (CLI and API share it)."""
    return [
        {"name": s.name, "description": s.description, "aliases": list(s.aliases),
         "audience": s.audience}
        for s in catalog.public()
    ]


async def list_scopes(request: Request) -> Response:
    """Serve the public catalog (rendered once per process)."""
    state = request.app.state.server
    body = state.extras.get("scopes_bytes")
    if body is None:
        body = orjson.dumps({"scopes": public_catalog(state.catalog)})
        state.extras["scopes_bytes"] = body
    return Response(body, media_type="application/json")


routes: list[BaseRoute] = [Route(PATH, list_scopes, methods=["GET"], name="scopes")]


_SCOPE_ITEM = {"type": "object", "required": ["name"], "properties": {
    "name": {"type": "string"}, "description": {"type": "string"},
    "aliases": {"type": "array", "items": {"type": "string"}},
    "audience": {"type": ["string", "null"]}}}
openapi_paths: dict[str, Any] = {PATH: {"get": {
    "summary": "Public scope catalog", "operationId": "scopes",
    "responses": {"200": json_response("Public scopes", {
        "type": "object", "required": ["scopes"], "properties": {"scopes": {
            "type": "array", "items": _SCOPE_ITEM}}})}}}}
