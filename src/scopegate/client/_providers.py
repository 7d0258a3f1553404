"""Token providers: client credentials, authorization code + PKCE, refresh.

Each grant is a flow (see ``_flow.py``): it yields the HTTP requests it needs and
returns a :class:`Token`, so one implementation serves sync and async clients. The
device flow's provider is in ``_device.py``, beside what it shows the user.
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
from collections.abc import Callable, Iterable
from typing import Any, ClassVar

from scopegate.scopes import SIGN_IN_SCOPES, default_catalog, format_scope, scope_set

from ._challenges import AuthDemand
from ._discovery import (
    METADATA_PATH,
    SCOPE_CATALOG_METADATA,
    Discovery,
    json_body,
    raise_for_error,
)
from ._dpop import DPoPSigner, use_dpop_nonce
from ._exceptions import AuthenticationError
from ._flow import Blocking, Flow
from ._loopback import LoopbackListener
from ._terminal import terminal_text
from ._tokens import Token

__all__ = [
    "CLIENT_CREDENTIALS_DEFAULT_SCOPES",
    "INTERACTIVE_DEFAULT_SCOPES",
    "METADATA_PATH",
    "SCOPE_CATALOG_METADATA",
    "AuthorizationCodePkceProvider",
    "ClientCredentialsProvider",
    "TokenProvider",
    "pkce_pair",
]

log = logging.getLogger("scopegate.client")

# The bundled catalog's default scopes (``api``: it puts the API audience into the
# token, seed 000); an interactive sign-in adds the OpenID Connect ones.
CLIENT_CREDENTIALS_DEFAULT_SCOPES: tuple[str, ...] = tuple(
    sorted(default_catalog().default_scopes))
INTERACTIVE_DEFAULT_SCOPES: tuple[str, ...] = (*SIGN_IN_SCOPES,
                                               *CLIENT_CREDENTIALS_DEFAULT_SCOPES)
_DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
#: RFC 9207: the server promises ``iss`` in every authorization response.
_ISS_SUPPORTED = "authorization_response_iss_parameter_supported"
_PAR = "pushed_authorization_request_endpoint"  # RFC 9126 §5


def pkce_pair() -> tuple[str, str]:
    """Return a fresh RFC 7636 (verifier, S256 challenge) pair."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _announce_url(url: str) -> None:
    print(f"Open this URL to log in:\n{terminal_text(url, markup=False)}", file=sys.stderr)


class TokenProvider(Discovery):
    """Base of every provider: discovery, the token request, and refresh.

    :param issuer: the authorization server's issuer URL.
    :param client_id: this client's id.
    :param scopes: scopes requested when nothing more specific is asked.
    :param token_endpoint: skip discovery for the token endpoint.
    :param http_timeout: total seconds for each request (default ``SCOPEGATE_HTTP_TIMEOUT``
        or 30).
    :param allow_insecure_http: send credentials to a non-loopback ``http://`` issuer
        (tests only; default ``SCOPEGATE_INSECURE_HTTP``).
    :param resource: the API the tokens are for (RFC 8707), sent with every authorization
        and token request; the server then binds the token's audience to it.
    """

    #: Whether a token can be obtained without a person (then step-up needs no login).
    silent: ClassVar[bool] = False
    #: What a login asks for when no scopes are configured (a person signs in, by default).
    default_scopes: ClassVar[tuple[str, ...]] = INTERACTIVE_DEFAULT_SCOPES

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
        resource: str | None = None,
    ) -> None:
        super().__init__(
            issuer,
            token_endpoint=token_endpoint,
            http_timeout=http_timeout,
            allow_insecure_http=allow_insecure_http,
        )
        self.client_id = client_id
        self.scopes: frozenset[str] = scope_set(self.default_scopes if scopes is None else scopes)
        self.clock = clock
        self.resource = resource
        #: Signs a DPoP proof for each token request (set by the session when DPoP is on).
        self.dpop: DPoPSigner | None = None

    def _client_auth(self, form: dict[str, str], headers: dict[str, str]) -> None:
        form["client_id"] = self.client_id

    def token_request_flow(
        self, form: dict[str, str], requested: Iterable[str], previous: Token | None = None
    ) -> Flow[Token]:
        """POST a form to the token endpoint and parse the answer into a :class:`Token`."""
        url = yield from self.endpoint_flow("token_endpoint")
        headers: dict[str, str] = {}
        if self.resource is not None:
            form.setdefault("resource", self.resource)
        self._client_auth(form, headers)
        response, body = yield from self._token_exchange(url, form, headers)
        raise_for_error(response, body)
        return Token.from_response(
            body,
            issuer=self.issuer,
            client_id=self.client_id,
            requested=requested,
            now=self.clock(),
            previous_refresh_token=previous.refresh_token if previous else None,
            dpop=self.dpop is not None,
            previous_account=previous.account if previous else None,
        )

    def _token_exchange(self, url: str, form: dict[str, str],
                        headers: dict[str, str]) -> Flow[tuple[Any, dict[str, Any]]]:
        """POST to the token endpoint, with a DPoP proof when DPoP is on; sent once more
        with the server's nonce if it asks for one (RFC 9449 §8)."""
        for attempt in (1, 2):
            if self.dpop is not None:
                headers["DPoP"] = self.dpop.proof("POST", url)
            response = yield from self._exchange(self._request("POST", url, form, **headers))
            body = json_body(response)
            if self.dpop is None:
                break
            self.dpop.remember_nonce(url, response.headers)
            if attempt == 2 or not use_dpop_nonce(response.status_code, response.headers, body):
                break
        return response, body

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
    """The client credentials grant (RFC 6749 §4.4) with HTTP Basic client authentication.

    :param client_secret: the client's secret (never shown in ``repr``).
    :param options: the :class:`TokenProvider` settings (``token_endpoint``,
        ``http_timeout``, ``allow_insecure_http``, ``clock``).
    """

    silent = True
    default_scopes = CLIENT_CREDENTIALS_DEFAULT_SCOPES

    def __init__(
        self,
        issuer: str,
        client_id: str,
        client_secret: str,
        *,
        scopes: Iterable[str] | None = None,
        **options: Any,
    ) -> None:
        super().__init__(issuer, client_id, scopes=scopes, **options)
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
    :param options: the :class:`TokenProvider` settings (``scopes``, ``http_timeout``, ...).
    """

    def __init__(
        self,
        issuer: str,
        client_id: str,
        *,
        open_browser: bool = True,
        opener: Callable[[str], object] = webbrowser.open,
        announce: Callable[[str], None] | None = None,
        timeout: float = 300.0,
        **options: Any,
    ) -> None:
        super().__init__(issuer, client_id, **options)
        self.open_browser = open_browser
        self.opener = opener
        self.announce = announce or _announce_url
        self.timeout = timeout

    def _authorize_params(self, redirect_uri: str, scopes: frozenset[str], challenge: str,
                          state: str, demand: AuthDemand | None) -> dict[str, str]:
        params = {"response_type": "code", "client_id": self.client_id,
                  "redirect_uri": redirect_uri, "scope": format_scope(scopes), "state": state,
                  "code_challenge": challenge, "code_challenge_method": "S256"}
        if self.resource is not None:
            params["resource"] = self.resource
        if demand is not None and demand.max_age is not None:
            params["max_age"] = str(demand.max_age)
        if demand is not None and demand.acr_values:
            params["acr_values"] = " ".join(demand.acr_values)
        return params

    def _authorize_url_flow(self, params: dict[str, str]) -> Flow[str]:
        """The URL the browser opens: with only ``client_id`` and ``request_uri`` when the
        server offers pushed requests (RFC 9126: the parameters never pass the browser)."""
        endpoint = yield from self.endpoint_flow("authorization_endpoint")
        if not isinstance((yield from self.metadata_flow()).get(_PAR), str):
            return f"{endpoint}?{urllib.parse.urlencode(params)}"
        url = yield from self.endpoint_flow(_PAR)
        headers: dict[str, str] = {}
        form = dict(params)
        self._client_auth(form, headers)
        response = yield from self._exchange(self._request("POST", url, form, **headers))
        body = json_body(response)
        raise_for_error(response, body)
        request_uri = body.get("request_uri")
        if not isinstance(request_uri, str) or not 0 < len(request_uri) <= 512:
            raise AuthenticationError(f"{url}: the answer has no usable request_uri")
        query = {"client_id": self.client_id, "request_uri": request_uri}
        return f"{endpoint}?{urllib.parse.urlencode(query)}"

    def _open_and_wait(self, listener: LoopbackListener, url: str, iss_required: bool) -> str:
        with listener:  # its port is bound already: the redirect cannot be missed
            self.announce(url)
            if self.open_browser:
                self.opener(url)
            return listener.wait(self.timeout, issuer=self.issuer, issuer_required=iss_required)

    def acquire_flow(self, scopes: frozenset[str],
                     demand: AuthDemand | None = None) -> Flow[Token]:
        """Send the user to the browser, wait on the loopback, then redeem the code.

        :param demand: the sign-in an API asked for (RFC 9470 ``max_age``, ``acr_values``).
        """
        iss_required = (yield from self.metadata_flow()).get(_ISS_SUPPORTED) is True
        verifier, challenge = pkce_pair()
        listener = LoopbackListener(secrets.token_urlsafe(24))
        try:
            url = yield from self._authorize_url_flow(self._authorize_params(
                listener.redirect_uri, scopes, challenge, listener.state, demand))
        except BaseException:
            listener.close()
            raise
        code = yield Blocking(lambda: self._open_and_wait(listener, url, iss_required))
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": listener.redirect_uri,
            "code_verifier": verifier,
        }
        return (yield from self.token_request_flow(form, scopes))
