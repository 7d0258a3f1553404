"""``GET /openapi.json``: an OpenAPI 3.1 document assembled from the endpoint modules.

Each endpoint module may expose ``openapi_paths: dict[str, Any]`` (OpenAPI path items);
this module merges those of the modules the app mounted. The helpers below keep the
documents honest and alike: JSON APIs answer errors as RFC 6749 §5.2 JSON, Bearer-protected
ones add an RFC 6750 ``WWW-Authenticate`` challenge, and the HTML pages answer HTML.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ..state import ServerState

__all__ = [
    "BEARER_AUTH",
    "CLIENT_AUTH",
    "ERROR_SCHEMA",
    "PATH",
    "bearer_error_responses",
    "build_openapi",
    "error_responses",
    "form_body",
    "html_response",
    "html_responses",
    "json_response",
    "render",
    "routes",
]

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


# Security requirements: a user's Bearer access token; client authentication (Basic,
# or none for a public client that sends client_id in the form).
BEARER_AUTH: list[dict[str, list[str]]] = [{"bearerAuth": []}]
CLIENT_AUTH: list[dict[str, list[str]]] = [{"clientBasic": []}]

_STRING = {"type": "string"}
_CHALLENGE_HEADER = {"WWW-Authenticate": {
    "description": "RFC 6750 §3 Bearer challenge (error, and scope when insufficient)",
    "schema": _STRING}}


def json_response(description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    """An OpenAPI response object with a JSON body."""
    return {"description": description,
            "content": {"application/json": {"schema": schema or {"type": "object"}}}}


def html_response(description: str) -> dict[str, Any]:
    """An OpenAPI response object with an HTML page body."""
    return {"description": description, "content": {"text/html": {"schema": _STRING}}}


def html_responses(by_code: dict[int, str]) -> dict[str, Any]:
    """HTML page answers, one description per status code."""
    return {str(code): html_response(text) for code, text in by_code.items()}


def form_body(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    """An OpenAPI request body for a form-encoded endpoint."""
    return {"required": True, "content": {"application/x-www-form-urlencoded": {"schema": {
        "type": "object", "properties": properties, "required": required}}}}


def error_responses(*codes: int) -> dict[str, Any]:
    """RFC 6749 §5.2 error answers for the given status codes."""
    return {str(code): json_response("OAuth error", ERROR_SCHEMA) for code in codes}


def bearer_error_responses(*codes: int) -> dict[str, Any]:
    """JSON error answers that carry an RFC 6750 challenge (401 and 403 of Bearer routes)."""
    return {str(code): {**json_response("Bearer token error (RFC 6750 §3.1)", ERROR_SCHEMA),
                        "headers": _CHALLENGE_HEADER} for code in codes}


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
            "clientBasic": {"type": "http", "scheme": "basic",
                            "description": "client_id and client_secret (RFC 6749 §2.3.1)"},
            "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                           "description": "an access token issued by this server"},
        }},
    }


async def openapi(request: Request) -> Response:
    """Serve the document (rendered at startup by :func:`render`)."""
    return Response(request.app.state.server.documents.openapi, media_type="application/json")


def render(state: ServerState, modules: list[ModuleType]) -> None:
    """Render the document of the mounted ``modules`` once, at startup."""
    state.documents.openapi = orjson.dumps(build_openapi(modules, state.settings.issuer))


openapi_paths: dict[str, Any] = {PATH: {"get": {
    "summary": "This OpenAPI document", "operationId": "openapi",
    "responses": {"200": json_response("OpenAPI 3.1 document")}}}}

routes: list[BaseRoute] = [Route(PATH, openapi, methods=["GET"], name="openapi")]
