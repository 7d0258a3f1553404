"""From an API's URL to its authorization server and scopes (RFC 9728, client side).

The API's unauthenticated answer, a 401 whose Bearer challenge carries
``resource_metadata`` (and the ``scope`` the route needs), names the metadata document;
an API that does not challenge is read at its well-known URL (§3.1: path-suffixed first,
then the root). Before anything is trusted:

- the metadata URL is on the API's origin, or https (a challenge cannot send the client
  to a plain-http host of an attacker's choosing);
- the document's ``resource`` is the API, or a prefix of its path on the same origin
  (§3.3: metadata for another resource is refused, never used);
- its authorization server is https, or http on loopback (``_https.py``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from scopegate.scopes import ScopeError, scopes_from_value, validate_tokens

from ._challenges import parse_challenges
from ._discovery import json_body
from ._exceptions import AuthenticationError, ConfigError
from ._flow import Flow
from ._http import sdk_request
from ._https import secure_url

__all__ = ["WELL_KNOWN", "ProtectedResource", "discover_resource_flow", "metadata_urls"]

WELL_KNOWN = "/.well-known/oauth-protected-resource"


@dataclass(frozen=True, slots=True)
class ProtectedResource:
    """What the API published: its identifier, its issuer, and the scopes to start with."""

    resource: str
    issuer: str
    scopes: tuple[str, ...]
    metadata_url: str


def metadata_urls(api_url: str) -> list[str]:
    """The §3.1 well-known URLs of an API: path-suffixed (if it has a path), then the root."""
    parts = urlsplit(api_url)
    origin = f"{parts.scheme}://{parts.netloc}"
    path = parts.path.rstrip("/")
    return [f"{origin}{WELL_KNOWN}{path}", f"{origin}{WELL_KNOWN}"] if path else [
        f"{origin}{WELL_KNOWN}"]


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()


def _bearer_challenge(response: httpx.Response) -> dict[str, str]:
    if response.status_code != 401:
        return {}
    for scheme, params in parse_challenges(response.headers.get_list("www-authenticate")):
        if scheme == "bearer":
            return params
    return {}


def _check_metadata_url(url: str, api_url: str) -> str:
    if urlsplit(url).scheme != "https" and _origin(url) != _origin(api_url):
        raise AuthenticationError(
            f"{api_url}: its challenge names resource metadata at {url!r}, neither on the "
            "API's origin nor https; refusing to follow it")
    return url


def _covers(resource: str, api_url: str) -> bool:
    """Whether the metadata's resource is the API itself, or contains it (same origin)."""
    if _origin(resource) != _origin(api_url):
        return False
    mine, theirs = urlsplit(api_url).path.rstrip("/"), urlsplit(resource).path.rstrip("/")
    return mine == theirs or mine.startswith(theirs + "/")


def _scopes(value: Any, where: str) -> tuple[str, ...]:
    try:
        if isinstance(value, str):
            return validate_tokens(scopes_from_value(value) or ())
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return validate_tokens(value)
    except ScopeError as exc:
        raise AuthenticationError(f"{where}: malformed scopes: {exc}") from None
    return ()


def _read(document: dict[str, Any], url: str, api_url: str, challenged: Iterable[str],
          allow_insecure_http: bool | None) -> ProtectedResource:
    resource = document.get("resource")
    if not isinstance(resource, str) or not _covers(resource, api_url):
        raise AuthenticationError(
            f"{url}: the metadata describes resource {resource!r}, not {api_url!r}; "
            "refusing it (RFC 9728 §3.3)")
    servers = document.get("authorization_servers")
    if not isinstance(servers, list) or not servers or not isinstance(servers[0], str):
        raise AuthenticationError(f"{url}: the metadata names no authorization server")
    try:
        issuer = secure_url(servers[0], "authorization server",
                            allow_insecure_http=allow_insecure_http)
    except ConfigError as exc:
        raise AuthenticationError(f"{url}: {exc}") from None
    scopes = tuple(challenged) or _scopes(document.get("scopes_supported"), url)
    return ProtectedResource(resource, issuer.rstrip("/"), scopes, url)


def discover_resource_flow(api_url: str, *, http_timeout: float,
                           allow_insecure_http: bool | None = None) -> Flow[ProtectedResource]:
    """Ask the API (no token) where its metadata is, fetch it, and check it.

    :raises ConfigError: ``api_url`` is not one a token may be sent to.
    :raises AuthenticationError: no usable metadata, or metadata that fails a check.
    """
    api_url = secure_url(api_url, "api_url", allow_insecure_http=allow_insecure_http)
    answer: httpx.Response = yield sdk_request("GET", api_url, timeout=http_timeout)
    challenge = _bearer_challenge(answer)
    pointed = challenge.get("resource_metadata")
    candidates = ([_check_metadata_url(pointed, api_url)] if pointed
                  else metadata_urls(api_url))
    for url in candidates:
        response: httpx.Response = yield sdk_request("GET", url, timeout=http_timeout)
        if response.status_code == 200:
            challenged = _scopes(challenge.get("scope", ""), api_url)
            return _read(json_body(response), url, api_url, challenged, allow_insecure_http)
    raise AuthenticationError(
        f"{api_url}: publishes no protected-resource metadata (tried {', '.join(candidates)});"
        " configure its issuer instead")
