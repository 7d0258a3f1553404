"""Authorization server metadata (RFC 8414) at both well-known paths.

The document advertises only what is mounted: an endpoint another module adds (route
names ``authorize``, ``device_authorization``, ``userinfo``, ``register``) appears once
its route is in the app; grant types come from the enabled grants.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from ...tokens import DPOP_ALGS
from ..management.openapi import json_response
from ..oidc.id_token import CLAIMS_SUPPORTED as OIDC_CLAIMS
from ..oidc.id_token import ID_TOKEN_SIGNING_ALGS
from ..shared.client_auth import AUTH_METHODS
from ..shared.cors import cors_route
from ..state import ServerState
from .auth_level import ACR_VALUES_SUPPORTED

__all__ = ["OIDC_PATH", "PATH", "build_metadata", "routes"]

PATH = "/.well-known/oauth-authorization-server"
OIDC_PATH = "/.well-known/openid-configuration"

# Route name -> metadata member, for endpoints other modules may mount.
_OPTIONAL_ENDPOINTS = {
    "token": "token_endpoint",
    "introspect": "introspection_endpoint",
    "revoke": "revocation_endpoint",
    "authorize": "authorization_endpoint",
    "device_authorization": "device_authorization_endpoint",
    "par": "pushed_authorization_request_endpoint",  # RFC 9126 §5
    "userinfo": "userinfo_endpoint",
    "jwks": "jwks_uri",
    "scopes": "scope_catalog_endpoint",  # extension: the public catalog for SDKs
}


def build_metadata(state: ServerState, app_routes: list[BaseRoute]) -> dict[str, Any]:
    """The RFC 8414 document for this server."""
    issuer = state.settings.issuer
    paths = {getattr(r, "name", None): getattr(r, "path", None) for r in app_routes}
    doc: dict[str, Any] = {"issuer": issuer}
    for name, member in _OPTIONAL_ENDPOINTS.items():
        path = paths.get(name)
        if path:
            doc[member] = issuer + path
    doc.update({
        "scopes_supported": [scope.name for scope in state.catalog.public()],
        "grant_types_supported": list(state.grants.supported),
        "response_types_supported": ["code"] if "authorize" in paths else [],
        # "none": public clients (PKCE) name themselves; a registering client checks this.
        # They revoke their own tokens the same way (a CLI's logout); introspection is for
        # confidential resource servers only.
        "token_endpoint_auth_methods_supported": [*AUTH_METHODS, "none"],
        "introspection_endpoint_auth_methods_supported": list(AUTH_METHODS),
        "revocation_endpoint_auth_methods_supported": [*AUTH_METHODS, "none"],
        "code_challenge_methods_supported": ["S256"],
        "resource_indicators_supported": state.settings.features.resource_indicators,
        "authorization_response_iss_parameter_supported": True,
        "id_token_signing_alg_values_supported": list(ID_TOKEN_SIGNING_ALGS),
        "subject_types_supported": ["public"],
        "claims_supported": list(dict.fromkeys(
            ["iss", "sub", "aud", "exp", "iat", "jti", "client_id", "scope", "subject_type",
             "auth_time", "acr"]
            + (list(OIDC_CLAIMS) if "userinfo" in paths else []))),
        "service_documentation": issuer + "/openapi.json",
        "dpop_signing_alg_values_supported": list(DPOP_ALGS),  # RFC 9449 §5.1
    })
    if "authorize" in paths:  # RFC 9126 §5, RFC 9470 §6 (OIDC Discovery)
        doc["require_pushed_authorization_requests"] = state.settings.par_required
        doc["acr_values_supported"] = list(ACR_VALUES_SUPPORTED)
    registration = state.registration  # RFC 7591 and metadata documents (server/registration)
    if "register" in paths and registration is not None and registration.enabled:
        doc["registration_endpoint"] = issuer + str(paths["register"])
    doc["client_id_metadata_document_supported"] = state.clients.documents is not None
    return doc


async def metadata(request: Request) -> Response:
    """Serve the metadata document (rendered once per process)."""
    state: ServerState = request.app.state.server
    body = state.documents.metadata
    if body is None:
        body = state.documents.metadata = orjson.dumps(build_metadata(state, request.app.routes))
    return Response(body, media_type="application/json",
                    headers={"Cache-Control": "public, max-age=300"})


routes: list[BaseRoute] = [
    cors_route(PATH, metadata, methods=["GET"], name="metadata", public=True),
    cors_route(OIDC_PATH, metadata, methods=["GET"], name="openid_configuration",
               public=True),
]


_META_OP = {"summary": "Authorization server metadata (RFC 8414)",
            "responses": {"200": json_response("Metadata document")}}
openapi_paths: dict[str, Any] = {
    PATH: {"get": {**_META_OP, "operationId": "metadata"}},
    OIDC_PATH: {"get": {**_META_OP, "operationId": "openid_configuration"}},
}
