"""Discovery (RFC 8414) and the requests every provider makes to its issuer.

Metadata must name the configured issuer (RFC 8414 §3.3) before any credential is
sent; endpoints must be https (or loopback http); requests carrying credentials are
bounded and never follow a redirect (see ``_http.py``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

import httpx

from scopegate.scopes import Catalog, ScopeError, catalog_from_listing

from ._exceptions import (
    AuthenticationError,
    ConfigError,
    TokenEndpointError,
    retry_after_seconds,
)
from ._flow import Flow
from ._http import MAX_RESPONSE_BYTES, refuse_redirect, sdk_request
from ._http import http_timeout as http_timeout_seconds
from ._https import secure_url

__all__ = ["METADATA_PATH", "SCOPE_CATALOG_METADATA", "Discovery", "json_body", "raise_for_error"]

log = logging.getLogger("scopegate.client")

METADATA_PATH = "/.well-known/oauth-authorization-server"
#: The metadata member (a scopegate extension) naming the public scope-catalog URL.
SCOPE_CATALOG_METADATA = "scope_catalog_endpoint"
#: After a failed catalog fetch, scopes are compared literally for this many seconds.
_CATALOG_RETRY_AFTER = 300.0


def json_body(response: httpx.Response) -> dict[str, Any]:
    """Return the answer's JSON object, or raise ``invalid_response``."""
    if len(response.content) > MAX_RESPONSE_BYTES:
        raise TokenEndpointError("invalid_response", "response too large", response.status_code)
    try:
        data = response.json()
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise TokenEndpointError(
            "invalid_response",
            f"HTTP {response.status_code} without a JSON object",
            response.status_code,
            retry_after=retry_after_seconds(response.headers.get("retry-after")),
        )
    return data


def raise_for_error(response: httpx.Response, body: Mapping[str, Any]) -> None:
    """Raise the RFC 6749 §5.2 error an answer carries, if any."""
    if response.status_code >= 400 or "error" in body:
        error = body.get("error")
        description = body.get("error_description")
        raise TokenEndpointError(
            error if isinstance(error, str) else "invalid_response",
            description if isinstance(description, str) else f"HTTP {response.status_code}",
            response.status_code,
            retry_after=retry_after_seconds(response.headers.get("retry-after")),
        )


class Discovery:
    """The issuer's metadata and scope catalog, fetched once, and how to ask it things.

    :param issuer: the authorization server's issuer URL (https, or http on loopback).
    :param token_endpoint: skip discovery for the token endpoint.
    :param http_timeout: total seconds for each request.
    :param allow_insecure_http: the test-only opt-out for a public ``http://`` issuer.
    """

    def __init__(
        self,
        issuer: str,
        *,
        token_endpoint: str | None = None,
        http_timeout: float | None = None,
        allow_insecure_http: bool | None = None,
    ) -> None:
        self.allow_insecure_http = allow_insecure_http
        self.issuer = self._secure(issuer, "issuer").rstrip("/")
        self.http_timeout = http_timeout_seconds(http_timeout)
        self._metadata: dict[str, Any] | None = (
            {"token_endpoint": token_endpoint} if token_endpoint else None
        )
        #: The issuer's public scope catalog once fetched; None compares scopes literally.
        self.catalog: Catalog | None = None
        self._catalog_checked = False  # the metadata said there is none, or we have it
        self._catalog_retry_at = 0.0  # monotonic time after which a failed fetch is retried

    def _secure(self, url: str, setting: str) -> str:
        return secure_url(url, setting, allow_insecure_http=self.allow_insecure_http)

    def _request(
        self, method: str, url: str, form: Mapping[str, str] | None = None, **headers: str
    ) -> httpx.Request:
        return sdk_request(method, url, timeout=self.http_timeout, form=form, headers=headers)

    def _exchange(self, request: httpx.Request) -> Flow[httpx.Response]:
        """Send a request carrying credentials; a redirect is refused, never followed."""
        response: httpx.Response = yield request
        refuse_redirect(request, response)
        return response

    def metadata_flow(self) -> Flow[Mapping[str, Any]]:
        """Fetch (once) the RFC 8414 metadata from ``<issuer>/.well-known/...``.

        Metadata naming another issuer is refused (RFC 8414 §3.3) before any
        credential is sent, and is not kept.
        """
        if self._metadata is None:
            url = self.issuer + METADATA_PATH
            response = yield self._request("GET", url)
            if response.status_code != 200:
                raise AuthenticationError(
                    f"{url}: HTTP {response.status_code}; is the issuer URL right?"
                )
            metadata = json_body(response)
            claimed = metadata.get("issuer")
            if not isinstance(claimed, str) or claimed.rstrip("/") != self.issuer:
                raise AuthenticationError(
                    f"{url}: the metadata names issuer {claimed!r}, not the configured "
                    f"{self.issuer!r}; refusing to send credentials (RFC 8414 §3.3)"
                )
            self._metadata = metadata
        return self._metadata

    def catalog_flow(self) -> Flow[Catalog | None]:
        """Fetch (once) the issuer's public scope catalog, if its metadata advertises one.

        Never fails the caller: an issuer without the endpoint (not a scopegate server),
        an error answer or a malformed listing leaves :attr:`catalog` None, and scopes
        are compared literally (a failed fetch is retried after a few minutes).
        """
        if self._catalog_checked or time.monotonic() < self._catalog_retry_at:
            return self.catalog
        try:
            metadata = yield from self.metadata_flow()
        except AuthenticationError:
            return None  # the grant that needs the metadata reports this error itself
        url = metadata.get(SCOPE_CATALOG_METADATA)
        if not isinstance(url, str) or not url.startswith(("https://", "http://")):
            self._catalog_checked = True
            return None
        try:
            response = yield self._request("GET", url)
            body = json_body(response)
            if response.status_code != 200:
                raise TokenEndpointError("invalid_response", f"HTTP {response.status_code}")
            self.catalog = catalog_from_listing(body, url)
        except (httpx.TransportError, AuthenticationError, ScopeError) as exc:
            log.warning("%s: scope catalog unavailable (%s); comparing scopes by name", url, exc)
            self._catalog_retry_at = time.monotonic() + _CATALOG_RETRY_AFTER
            return None
        self._catalog_checked = True
        return self.catalog

    def endpoint_flow(self, name: str) -> Flow[str]:
        """Return one endpoint URL from the metadata."""
        metadata = yield from self.metadata_flow()
        url = metadata.get(name)
        if not isinstance(url, str) or not url.startswith(("https://", "http://")):
            raise AuthenticationError(f"{self.issuer}: metadata has no usable {name}")
        try:
            return self._secure(url, name)
        except ConfigError as exc:
            raise AuthenticationError(f"{self.issuer} metadata: {exc}") from None
