"""The guard's refusals as OpenAPI documents them: 401 and 403, their body and challenge.

A client generator or a reader of Swagger UI then knows, per operation, that a missing
token answers 401 and a token without the route's scopes 403, and what the
``WWW-Authenticate`` challenge tells it (RFC 6750 §3, RFC 9728 §5.1).
"""

from __future__ import annotations

from typing import Any

__all__ = ["ERROR_SCHEMA", "document_refusals"]

ERROR_SCHEMA_NAME = "OAuthError"
ERROR_SCHEMA: dict[str, Any] = {
    "title": ERROR_SCHEMA_NAME,
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {"type": "string", "description": "The RFC 6750 / RFC 6749 error code.",
                  "examples": ["invalid_token", "insufficient_scope", "access_denied"]},
        "error_description": {"type": "string", "description": "One sentence for people."},
        "scope": {"type": "string",
                  "description": "insufficient_scope: every scope the route needs."},
    },
}

_CHALLENGE = {
    "description": ('Bearer challenge (RFC 6750 §3): `resource_metadata` names the RFC 9728 '
                    'metadata (authorization server, scopes); `scope` the scopes to ask for.'),
    "schema": {"type": "string"},
}

_REFUSALS = {
    "401": "No valid bearer token (missing, expired, revoked or for another API).",
    "403": ("The token lacks a scope the route needs (`insufficient_scope`, step up to "
            "the scopes named), or the caller may not use this resource (`access_denied`)."),
}


def document_refusals(schema: dict[str, Any], operation: dict[str, Any]) -> None:
    """Add the 401 and 403 answers to a guarded operation (its own answers win)."""
    schemas = schema.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault(ERROR_SCHEMA_NAME, ERROR_SCHEMA)
    body = {"application/json": {"schema": {"$ref": f"#/components/schemas/{ERROR_SCHEMA_NAME}"}}}
    responses = operation.setdefault("responses", {})
    for status, description in _REFUSALS.items():
        responses.setdefault(status, {"description": description,
                                      "headers": {"WWW-Authenticate": _CHALLENGE},
                                      "content": body})
