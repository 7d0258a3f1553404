"""``GET /api/v1/scopes``: the public scope catalog, complete enough for an SDK to reason with.

Each public scope comes with its description, aliases, audience and the public scopes
it implies; the catalog ``namespace`` sits beside them. Internal scopes never appear,
not even as an implied name. Clients find this endpoint through the metadata member
``scope_catalog_endpoint`` and rebuild the catalog with
:func:`scopegate.scopes.catalog_from_listing`.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ...scopes import Catalog, public_listing
from .openapi import json_response

__all__ = ["PATH", "public_catalog", "routes"]

PATH = "/api/v1/scopes"


def public_catalog(catalog: Catalog) -> list[dict[str, Any]]:
    """The public scopes as JSON-ready dicts, sorted by name (CLI and API share it)."""
    scopes: list[dict[str, Any]] = public_listing(catalog)["scopes"]
    return scopes


async def list_scopes(request: Request) -> Response:
    """Serve the public catalog (rendered once per process)."""
    state = request.app.state.server
    body = state.documents.scopes
    if body is None:
        body = state.documents.scopes = orjson.dumps(public_listing(state.catalog))
    return Response(body, media_type="application/json",
                    headers={"Cache-Control": "public, max-age=300"})


routes: list[BaseRoute] = [Route(PATH, list_scopes, methods=["GET"], name="scopes")]


_NAMES = {"type": "array", "items": {"type": "string"}}
_SCOPE_ITEM = {"type": "object", "required": ["name", "description", "aliases", "implies",
                                              "audience"], "properties": {
    "name": {"type": "string", "description": "Canonical name"},
    "description": {"type": "string"},
    "aliases": {**_NAMES, "description": "Other names accepted on input (legacy first)"},
    "implies": {**_NAMES, "description": "Public scopes this one covers directly"},
    "audience": {"type": ["string", "null"], "description": "RFC 8707 resource"}}}
openapi_paths: dict[str, Any] = {PATH: {"get": {
    "summary": "Public scope catalog", "operationId": "scopes",
    "responses": {"200": json_response("Public scopes", {
        "type": "object", "required": ["namespace", "scopes"], "properties": {
            "namespace": {"type": "string",
                          "description": "Prefix of the special scopes (<ns>:all)"},
            "scopes": {"type": "array", "items": _SCOPE_ITEM}}})}}}}
