"""``GET /openapi.json``: an OpenAPI 3.1 document assembled from the endpoint modules.

Each endpoint module may expose ``openapi_paths: dict[str, Any]`` (OpenAPI path items);
this module merges those of the modules the app mounted.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

__all__ = ["ERROR_SCHEMA", "PATH", "build_openapi", "form_body", "json_response", "routes"]

PATH = "/openapi.json"

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {"type": "string"},
        "error_description": {"type": "string"},
        "error_uri": {"type": "string"},
    },
}


def json_response(description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    """An OpenAPI response object with a JSON body."""
    return {"description": description,
            "content": {"application/json": {"schema": schema or {"type": "object"}}}}


def form_body(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    """An OpenAPI request body for a form-encoded endpoint."""
    return {"required": True, "content": {"application/x-www-form-urlencoded": {"schema": {
        "type": "object", "properties": properties, "required": required}}}}


def error_responses(*codes: int) -> dict[str, Any]:
    """RFC 6749 §5.2 error answers for the given status codes."""
    return {str(code): json_response("OAuth error", ERROR_SCHEMA) for code in codes}


def build_openapi(modules: list[ModuleType], issuer: str) -> dict[str, Any]:
    """Merge the modules' ``openapi_paths`` into one document."""
    paths: dict[str, Any] = {}
    for module in modules:
        paths.update(getattr(module, "openapi_paths", {}))
    return {
        "openapi": "3.1.0",
        "info": {"title": "scopegate authorization server", "version": "0.1.0"},
        "servers": [{"url": issuer}],
        "paths": paths,
        "components": {"securitySchemes": {
            "clientBasic": {"type": "http", "scheme": "basic"},
        }},
    }


async def openapi(request: Request) -> Response:
    """Serve the document (rendered once per process)."""
    from ..app import mounted_modules

    state = request.app.state.server
    body = state.extras.get("openapi_bytes")
    if body is None:
        doc = build_openapi(mounted_modules(state.settings.features), state.settings.issuer)
        body = orjson.dumps(doc)
        state.extras["openapi_bytes"] = body
    return Response(body, media_type="application/json")


openapi_paths: dict[str, Any] = {PATH: {"get": {
    "summary": "This OpenAPI document", "operationId": "openapi",
    "responses": {"200": json_response("OpenAPI 3.1 document")}}}}

routes: list[BaseRoute] = [Route(PATH, openapi, methods=["GET"], name="openapi")]
