"""The registration response (RFC 7591 §3.2.1, RFC 7592 §3): what was registered, echoed.

Shared by the registration endpoint and the RFC 7592 read and update answers, so a
client always reads back the same shape: its id, its secret once (confidential only),
its registration access token and URI, and every metadata value as registered (a value
the server substituted, such as ``token_endpoint_auth_method``, is what it stored).
"""

from __future__ import annotations

from typing import Any

from ...scopes import format_scope
from ...store.repositories import ClientRecord

__all__ = ["INTERNAL_PREFIX", "MANAGE_PATH_PREFIX", "REGISTER_PATH", "registration_response"]

REGISTER_PATH = "/oauth/register"
MANAGE_PATH_PREFIX = REGISTER_PATH + "/"
INTERNAL_PREFIX = "scopegate:"  # stored beside the metadata, never echoed


def registration_response(client: ClientRecord, issuer: str, *, secret: str = "",
                          access_token: str | None = None) -> dict[str, Any]:
    """The JSON answer describing ``client``.

    :param secret: the client secret just made ("" for none: public, or not shown again).
    :param access_token: the registration access token to hand back (RFC 7592).
    """
    stored = dict(client.client_metadata)
    body: dict[str, Any] = {
        "client_id": client.client_id,
        "client_id_issued_at": int(client.created_at.timestamp()),
        "client_name": client.name,
        "redirect_uris": list(client.redirect_uris),
        "grant_types": sorted(client.grant_types),
        "response_types": ["code"] if "authorization_code" in client.grant_types else [],
        "token_endpoint_auth_method": stored.get(
            "token_endpoint_auth_method", "none" if client.is_public else "client_secret_basic"),
        "scope": format_scope(client.allowed_scopes),
    }
    body.update({k: v for k, v in stored.items()
                 if k not in body and not k.startswith(INTERNAL_PREFIX)})
    if secret:
        body["client_secret"] = secret
        body["client_secret_expires_at"] = 0  # never expires (RFC 7591 §3.2.1)
    if access_token is not None:
        body["registration_access_token"] = access_token
        body["registration_client_uri"] = issuer + MANAGE_PATH_PREFIX + client.client_id
    return body
