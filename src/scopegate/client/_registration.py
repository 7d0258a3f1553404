"""The SDK registers itself (RFC 7591) when no client id is configured, once per issuer.

An interactive login without ``client_id`` asks the issuer's RFC 8414 metadata for its
``registration_endpoint`` and registers a public client (``token_endpoint_auth_method``
``none``, PKCE) with the loopback redirect URI the PKCE provider listens on (any port
matches, RFC 8252 §7.3), plus the device grant when asked for. The answer (client id and
registration access token) is kept per issuer in ``registrations.json`` (0600) or the OS
keyring, like the tokens, and reused. Before a login, a stored registration is read back
through RFC 7592 with its registration access token: a server that pruned it answers 401,
and the SDK registers again, once. An answer that is not a usable public client (no
``client_id``, too large, a redirect) is refused and nothing is stored.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from ._discovery import Discovery, json_body, raise_for_error
from ._exceptions import AuthenticationError, ConfigError
from ._flow import Blocking, Flow
from ._http import sdk_request
from ._stores import Document, PersistentTokenStore, TokenStore

__all__ = ["CLIENT_NAME", "REGISTRATIONS_FILE", "Registration", "registered_client_flow",
           "registration_store"]

REGISTRATIONS_FILE = "registrations.json"
CLIENT_NAME = "scopegate-python"
REDIRECT_URI = "http://127.0.0.1/callback"  # the loopback listener's, any port (RFC 8252)
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
_KEYRING_ENTRY = "client-registrations"
_MAX_CLIENT_ID = 255


@dataclass(frozen=True, slots=True)
class Registration:
    """What the issuer answered, as stored: enough to use it and to read it back."""

    client_id: str
    grant_types: tuple[str, ...]
    access_token: str | None = None
    client_uri: str | None = None

    def to_dict(self, issuer: str) -> dict[str, Any]:
        """The stored entry (the issuer is kept to check it on load)."""
        return {"issuer": issuer, "client_id": self.client_id,
                "grant_types": list(self.grant_types),
                "registration_access_token": self.access_token,
                "registration_client_uri": self.client_uri, "registered_at": int(time.time())}


def registration_store(directory: Path, *, use_keyring: bool) -> TokenStore:
    """Where registrations persist: beside the token cache, in the same kind of store."""
    return PersistentTokenStore(directory / REGISTRATIONS_FILE, use_keyring=use_keyring,
                                keyring_entry=_KEYRING_ENTRY)


def _text(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    return value if isinstance(value, str) and value else None


def read_answer(body: dict[str, Any], endpoint: str, discovery: Discovery) -> Registration:
    """Check an RFC 7591 §3.2.1 answer: a printable client id of a public client.

    :raises AuthenticationError: a registration the SDK cannot use (nothing is stored).
    """
    client_id = _text(body, "client_id")
    if client_id is None or len(client_id) > _MAX_CLIENT_ID or not client_id.isprintable():
        raise AuthenticationError(f"{endpoint}: the registration answer has no usable "
                                  "client_id; refusing it")
    method = body.get("token_endpoint_auth_method", "none")
    if method != "none":
        raise AuthenticationError(f"{endpoint}: registered a client for {method!r}, not the "
                                  "public client (none) that was asked for; refusing it")
    grants = body.get("grant_types")
    granted = tuple(g for g in grants if isinstance(g, str)) if isinstance(grants, list) else (
        "authorization_code",)
    uri = _text(body, "registration_client_uri")
    if uri is not None:
        try:
            uri = discovery._secure(uri, "registration_client_uri")
        except ConfigError:
            uri = None  # then it is never read back: a pruned client shows at the token step
    return Registration(client_id, granted, _text(body, "registration_access_token"), uri)


def _metadata(device: bool, client_name: str) -> dict[str, Any]:
    grants = ["authorization_code", "refresh_token", *([DEVICE_GRANT] if device else [])]
    return {"client_name": client_name, "redirect_uris": [REDIRECT_URI],
            "grant_types": grants, "response_types": ["code"],
            "token_endpoint_auth_method": "none"}


def register_flow(discovery: Discovery, device: bool, client_name: str) -> Flow[Registration]:
    """POST the metadata to the issuer's ``registration_endpoint`` (RFC 7591 §3.1)."""
    metadata = yield from discovery.metadata_flow()
    if not isinstance(metadata.get("registration_endpoint"), str):
        raise ConfigError(f"{discovery.issuer} offers no client registration "
                          "(no registration_endpoint); pass --client-id (client_id=) of a "
                          "client registered there")
    supported = metadata.get("grant_types_supported")
    if device and isinstance(supported, list) and DEVICE_GRANT not in supported:
        raise ConfigError(f"{discovery.issuer} offers no device flow; log in in a browser "
                          "or pass --client-id")
    endpoint = yield from discovery.endpoint_flow("registration_endpoint")
    request = sdk_request("POST", endpoint, timeout=discovery.http_timeout,
                          json=_metadata(device, client_name))
    response = yield from discovery._exchange(request)
    body = json_body(response)
    raise_for_error(response, body)
    return read_answer(body, endpoint, discovery)


def still_registered_flow(discovery: Discovery, found: Registration) -> Flow[bool]:
    """Read the registration back (RFC 7592 §2.1); False when the server forgot it."""
    if found.client_uri is None or found.access_token is None:
        return True  # nothing to ask with: trust it
    request = sdk_request("GET", found.client_uri, timeout=discovery.http_timeout,
                          headers={"Authorization": f"Bearer {found.access_token}"})
    response: httpx.Response = yield from discovery._exchange(request)
    return response.status_code not in (401, 403, 404)


def _stored(doc: Document, issuer: str, device: bool) -> Registration | None:
    entry = doc.get(issuer)
    if not entry or entry.get("issuer") != issuer or not isinstance(entry.get("client_id"), str):
        return None
    grants = tuple(g for g in entry.get("grant_types") or () if isinstance(g, str))
    if device and DEVICE_GRANT not in grants:
        return None  # registered for the browser only: the device flow needs a new one
    return Registration(entry["client_id"], grants, entry.get("registration_access_token"),
                        entry.get("registration_client_uri"))


def registered_client_flow(discovery: Discovery, store: TokenStore, *, device: bool,
                           client_name: str = CLIENT_NAME) -> Flow[str]:
    """The stored registration for this issuer if the server still knows it, else a new
    one (stored before it is used); return its client id."""
    issuer = discovery.issuer
    doc: Document = yield Blocking(store.load)
    found = _stored(doc, issuer, device)
    if found is not None and (yield from still_registered_flow(discovery, found)):
        return found.client_id
    made = yield from register_flow(discovery, device, client_name)

    def keep(document: Document) -> None:
        document[issuer] = made.to_dict(issuer)

    yield Blocking(lambda: store.update(keep))
    return made.client_id
