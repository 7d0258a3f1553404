"""Token providers: client credentials, authorization code + PKCE, device flow, refresh.

Each grant is a flow (see ``_flow.py``): it yields the HTTP requests it needs and
returns a :class:`Token`, so one implementation serves sync and async clients.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import secrets
import sys
import time
import urllib.parse
import webbrowser
from collections.abc import Callable, Iterable, Mapping
from typing import Any, ClassVar

import httpx

from scopegate.scopes import Catalog, ScopeError, catalog_from_listing, format_scope, scope_set

from ._device import DeviceDisplay, RichDeviceDisplay, device_prompt
from ._exceptions import AuthenticationError, ConfigError, DeviceFlowError, TokenEndpointError
from ._flow import Blocking, Flow, Sleep
from ._http import MAX_RESPONSE_BYTES, refuse_redirect, sdk_request
from ._http import http_timeout as http_timeout_seconds
from ._https import secure_url
from ._loopback import LoopbackListener
from ._tokens import Token

__all__ = [
    "CLIENT_CREDENTIALS_DEFAULT_SCOPES",
    "INTERACTIVE_DEFAULT_SCOPES",
    "METADATA_PATH",
    "SCOPE_CATALOG_METADATA",
    "AuthorizationCodePkceProvider",
    "ClientCredentialsProvider",
    "DeviceCodeProvider",
    "TokenProvider",
    "pkce_pair",
]

log = logging.getLogger("scopegate.client")

METADATA_PATH = "/.well-known/oauth-authorization-server"
#: The metadata member (a scopegate extension) naming the public scope-catalog URL.
SCOPE_CATALOG_METADATA = "scope_catalog_endpoint"
#: After a failed catalog fetch, scopes are compared literally for this many seconds.
_CATALOG_RETRY_AFTER = 300.0
# Requesting `api` is what puts the API audience into the token (seed 000).
CLIENT_CREDENTIALS_DEFAULT_SCOPES: tuple[str, ...] = ("api",)
INTERACTIVE_DEFAULT_SCOPES: tuple[str, ...] = (
    "openid",
    "profile",
    "email",
    "offline_access",
    "api",
)
_DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
#: RFC 9207: the server promises ``iss`` in every authorization response.
_ISS_SUPPORTED = "authorization_response_iss_parameter_supported"


def pkce_pair() -> tuple[str, str]:
    """Return a fresh RFC 7636 (verifier, S256 challenge) pair."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _json_body(response: httpx.Response) -> dict[str, Any]:
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
        )
    return data


def _raise_for_error(response: httpx.Response, body: Mapping[str, Any]) -> None:
    if response.status_code >= 400 or "error" in body:
        error = body.get("error")
        description = body.get("error_description")
        raise TokenEndpointError(
            error if isinstance(error, str) else "invalid_response",
            description if isinstance(description, str) else f"HTTP {response.status_code}",
            response.status_code,
        )


def _announce_url(url: str) -> None:
    print(f"Open this URL to log in:\n{url}", file=sys.stderr)


class TokenProvider:
    """Base of every provider: discovery, the token request, and refresh.

    :param issuer: the authorization server's issuer URL.
    :param client_id: this client's id.
    :param scopes: scopes requested when nothing more specific is asked.
    :param token_endpoint: skip discovery for the token endpoint.
    :param http_timeout: total seconds for each request (default ``SCOPEGATE_HTTP_TIMEOUT``
        or 30).
    :param allow_insecure_http: send credentials to a non-loopback ``http://`` issuer
        (tests only; default ``SCOPEGATE_INSECURE_HTTP``).
    """

    #: Whether a token can be obtained without a person (then step-up needs no login).
    silent: ClassVar[bool] = False
    default_scopes: ClassVar[tuple[str, ...]] = ()

    def __init__(
        self,
        issuer: str,
        client_id: str,
        *,
        scopes: Iterable[str] | None = None,
        token_endpoint: str | None = None,
        clock: Callable[[], float] = time.time,
        http_timeout: float | None = None,
        allow_insecure_http: bool | None = None,
    ) -> None:
        self.allow_insecure_http = allow_insecure_http
        self.issuer = self._secure(issuer, "issuer").rstrip("/")
        self.client_id = client_id
        self.http_timeout = http_timeout_seconds(http_timeout)
        self.scopes: frozenset[str] = scope_set(self.default_scopes if scopes is None else scopes)
        self.clock = clock
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
            metadata = _json_body(response)
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
            body = _json_body(response)
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

    def _client_auth(self, form: dict[str, str], headers: dict[str, str]) -> None:
        form["client_id"] = self.client_id

    def token_request_flow(
        self, form: dict[str, str], requested: Iterable[str], previous: Token | None = None
    ) -> Flow[Token]:
        """POST a form to the token endpoint and parse the answer into a :class:`Token`."""
        url = yield from self.endpoint_flow("token_endpoint")
        headers: dict[str, str] = {}
        self._client_auth(form, headers)
        response = yield from self._exchange(self._request("POST", url, form, **headers))
        body = _json_body(response)
        _raise_for_error(response, body)
        return Token.from_response(
            body,
            issuer=self.issuer,
            client_id=self.client_id,
            requested=requested,
            now=self.clock(),
            previous_refresh_token=previous.refresh_token if previous else None,
        )

    def acquire_flow(self, scopes: frozenset[str]) -> Flow[Token]:
        """Obtain a new token for ``scopes`` (a login for interactive providers)."""
        raise NotImplementedError
        yield  # pragma: no cover

    def refresh_flow(self, token: Token) -> Flow[Token]:
        """Exchange ``token.refresh_token`` for a new token with the same scopes (RFC 6749 §6)."""
        assert token.refresh_token is not None
        form = {"grant_type": "refresh_token", "refresh_token": token.refresh_token}
        return (yield from self.token_request_flow(form, token.scopes, previous=token))


class ClientCredentialsProvider(TokenProvider):
    """The client credentials grant (RFC 6749 §4.4) with HTTP Basic client authentication."""

    silent = True
    default_scopes = CLIENT_CREDENTIALS_DEFAULT_SCOPES

    def __init__(
        self,
        issuer: str,
        client_id: str,
        client_secret: str,
        *,
        scopes: Iterable[str] | None = None,
        token_endpoint: str | None = None,
        clock: Callable[[], float] = time.time,
        http_timeout: float | None = None,
        allow_insecure_http: bool | None = None,
    ) -> None:
        super().__init__(
            issuer,
            client_id,
            scopes=scopes,
            token_endpoint=token_endpoint,
            clock=clock,
            http_timeout=http_timeout,
            allow_insecure_http=allow_insecure_http,
        )
        self._secret = client_secret

    def __repr__(self) -> str:
        return f"ClientCredentialsProvider(issuer={self.issuer!r}, client_id={self.client_id!r})"

    def _client_auth(self, form: dict[str, str], headers: dict[str, str]) -> None:
        user = urllib.parse.quote(self.client_id, safe="")
        password = urllib.parse.quote(self._secret, safe="")
        basic = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
        headers["Authorization"] = f"Basic {basic}"

    def acquire_flow(self, scopes: frozenset[str]) -> Flow[Token]:
        """Request a token for ``scopes``."""
        form = {"grant_type": "client_credentials", "scope": format_scope(scopes)}
        return (yield from self.token_request_flow(form, scopes))


class AuthorizationCodePkceProvider(TokenProvider):
    """Authorization code + PKCE S256 with a loopback redirect (RFC 6749 §4.1, 7636, 8252).

    :param open_browser: open the URL in a browser; False only prints it.
    :param opener: how to open the URL (``webbrowser.open``; tests inject one).
    :param announce: how to show the URL to the user.
    :param timeout: seconds to wait for the redirect.
    """

    default_scopes = INTERACTIVE_DEFAULT_SCOPES

    def __init__(
        self,
        issuer: str,
        client_id: str,
        *,
        scopes: Iterable[str] | None = None,
        open_browser: bool = True,
        opener: Callable[[str], object] = webbrowser.open,
        announce: Callable[[str], None] | None = None,
        timeout: float = 300.0,
        token_endpoint: str | None = None,
        clock: Callable[[], float] = time.time,
        http_timeout: float | None = None,
        allow_insecure_http: bool | None = None,
    ) -> None:
        super().__init__(
            issuer,
            client_id,
            scopes=scopes,
            token_endpoint=token_endpoint,
            clock=clock,
            http_timeout=http_timeout,
            allow_insecure_http=allow_insecure_http,
        )
        self.open_browser = open_browser
        self.opener = opener
        self.announce = announce or _announce_url
        self.timeout = timeout

    def _authorize(
        self, endpoint: str, scopes: frozenset[str], challenge: str, iss_required: bool
    ) -> tuple[str, str]:
        state = secrets.token_urlsafe(24)
        with LoopbackListener(state) as listener:
            query = urllib.parse.urlencode(
                {
                    "response_type": "code",
                    "client_id": self.client_id,
                    "redirect_uri": listener.redirect_uri,
                    "scope": format_scope(scopes),
                    "state": state,
                    "code_challenge": challenge,
                    "code_challenge_method": "S256",
                }
            )
            url = f"{endpoint}?{query}"
            self.announce(url)
            if self.open_browser:
                self.opener(url)
            code = listener.wait(self.timeout, issuer=self.issuer, issuer_required=iss_required)
            return code, listener.redirect_uri

    def acquire_flow(self, scopes: frozenset[str]) -> Flow[Token]:
        """Send the user to the browser, wait on the loopback, then redeem the code."""
        endpoint = yield from self.endpoint_flow("authorization_endpoint")
        iss_required = (yield from self.metadata_flow()).get(_ISS_SUPPORTED) is True
        verifier, challenge = pkce_pair()
        code, redirect_uri = yield Blocking(
            lambda: self._authorize(endpoint, scopes, challenge, iss_required)
        )
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": verifier,
        }
        return (yield from self.token_request_flow(form, scopes))


class DeviceCodeProvider(TokenProvider):
    """The device authorization grant (RFC 8628): show a code, poll until approved.

    :param display: shows the code and a countdown (default: a rich spinner on stderr).
    :param monotonic: the clock for the code's expiry (tests inject a fake).
    :param max_slow_downs: consecutive ``slow_down`` answers tolerated before giving up.
    """

    default_scopes = INTERACTIVE_DEFAULT_SCOPES

    def __init__(
        self,
        issuer: str,
        client_id: str,
        *,
        scopes: Iterable[str] | None = None,
        display: DeviceDisplay | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        max_slow_downs: int = 4,
        token_endpoint: str | None = None,
        clock: Callable[[], float] = time.time,
        http_timeout: float | None = None,
        allow_insecure_http: bool | None = None,
    ) -> None:
        super().__init__(
            issuer,
            client_id,
            scopes=scopes,
            token_endpoint=token_endpoint,
            clock=clock,
            http_timeout=http_timeout,
            allow_insecure_http=allow_insecure_http,
        )
        self.display: DeviceDisplay = display or RichDeviceDisplay()
        self.monotonic = monotonic
        self.max_slow_downs = max_slow_downs

    def acquire_flow(self, scopes: frozenset[str]) -> Flow[Token]:
        """Start the device flow and poll, honouring ``interval`` and ``slow_down``."""
        endpoint = yield from self.endpoint_flow("device_authorization_endpoint")
        form = {"client_id": self.client_id, "scope": format_scope(scopes)}
        response = yield from self._exchange(self._request("POST", endpoint, form))
        body = _json_body(response)
        _raise_for_error(response, body)
        device_code, prompt = device_prompt(body)
        deadline = self.monotonic() + prompt.expires_in
        interval = prompt.interval
        slow_downs = 0
        self.display.show(prompt)
        try:
            while True:
                yield Sleep(interval)
                if self.monotonic() >= deadline:
                    raise DeviceFlowError("the device code expired before it was approved")
                form = {"grant_type": _DEVICE_GRANT, "device_code": device_code}
                try:
                    return (yield from self.token_request_flow(form, scopes))
                except TokenEndpointError as exc:
                    if exc.error == "authorization_pending":
                        slow_downs = 0
                    elif exc.error == "slow_down":
                        slow_downs += 1
                        interval += 5  # RFC 8628 §3.5: add 5 seconds to every later poll
                        if slow_downs > self.max_slow_downs:
                            raise DeviceFlowError(
                                f"the server asked to slow down {slow_downs} times in a row "
                                f"(interval now {interval:g}s); check that this machine's "
                                "clock is right and that only one login is running"
                            ) from None
                    elif exc.error == "access_denied":
                        raise DeviceFlowError("the login was denied on the device page") from None
                    elif exc.error == "expired_token":
                        raise DeviceFlowError(
                            "the device code expired before it was approved; run login again"
                        ) from None
                    else:
                        raise
                self.display.update(deadline - self.monotonic(), interval)
        finally:
            self.display.close()
