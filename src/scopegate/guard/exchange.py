"""Token exchange (RFC 8693) for an API that calls another API on its caller's behalf.

The API hands the caller's token to the authorization server, with its own client
credentials (the client registered as this API's resource server, the one introspection
uses, given the token-exchange grant), and gets a token for the downstream API with only
the scopes named: the user stays ``sub``, the API is ``act``. Results are cached per
(caller's token, target, scopes) until shortly before they expire, in a bounded LRU, and
concurrent requests for the same token share one call.

Refusals become answers for the caller: a caller's token the server will not exchange
(revoked, expired, its user disabled) is ``401 invalid_token``; scopes it lacks are
``403 insufficient_scope``; anything else (this API's own registration, the server
unreachable) is the API's problem, never the caller's: :class:`ExchangeFailed` (502).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import httpx

from scopegate.errors import InsufficientScope, InvalidToken, OAuthError

from .errors import UpstreamUnavailable

__all__ = ["ACCESS_TOKEN_TYPE", "TOKEN_EXCHANGE", "ExchangeFailed", "ExchangedToken",
           "TokenExchanger"]

log = logging.getLogger("scopegate.guard")

TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"
_MAX_RESPONSE_BYTES = 64 * 1024


class ExchangeFailed(OAuthError):
    """This API could not get a downstream token for a reason that is not the caller's.

    :ivar server_error: the authorization server's ``error`` code, when it answered one.
    """

    error = "server_error"
    status_code = 502
    default_description = "this API could not get a token for the service it calls"

    def __init__(self, description: str | None = None, *, server_error: str | None = None,
                 **kwargs: Any) -> None:
        super().__init__(description, **kwargs)
        self.server_error = server_error


@dataclass(frozen=True, slots=True)
class ExchangedToken:
    """A token for the downstream API.

    :param expires_at: epoch seconds (never later than the caller's token).
    """

    access_token: str = field(repr=False)
    resource: str
    scopes: frozenset[str]
    expires_at: float

    @property
    def authorization(self) -> str:
        """The ``Authorization`` header value for the downstream call."""
        return f"Bearer {self.access_token}"


_Key = tuple[str, str, frozenset[str] | None]  # None: no scope asked for


class TokenExchanger:
    """Gets (and caches) downstream tokens for callers' tokens.

    :param http: the async client for the token endpoint.
    :param token_endpoint: ``<issuer>/oauth/token``.
    :param client_id: this API's client (registered as its resource server, with the
        ``token-exchange`` grant).
    :param client_secret: its secret.
    :param max_entries: bound on cached tokens (least recently used go first).
    :param margin_s: a cached token is not handed out this close to its expiry.
    """

    def __init__(self, http: httpx.AsyncClient, *, token_endpoint: str, client_id: str,
                 client_secret: str, max_entries: int = 10_000, margin_s: float = 30.0,
                 realm: str | None = None) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self._http = http
        self._endpoint = token_endpoint
        self._auth = httpx.BasicAuth(client_id, client_secret)
        self._max = max_entries
        self._margin_s = margin_s
        self._realm = realm
        self._cache: OrderedDict[_Key, ExchangedToken] = OrderedDict()
        self._inflight: dict[_Key, asyncio.Future[ExchangedToken]] = {}
        self.call_count = 0

    def __len__(self) -> int:
        return len(self._cache)

    async def exchange(self, subject_token: str, *, resource: str,
                       scopes: Iterable[str] | None = None) -> ExchangedToken:
        """A token for ``resource`` on behalf of ``subject_token``'s subject.

        :param scopes: what the downstream call needs (None: everything the server allows).
        :raises InvalidToken: the server will not exchange the caller's token.
        :raises InsufficientScope: the caller's token lacks ``scopes``.
        :raises ExchangeFailed: this API's registration does not allow it.
        :raises UpstreamUnavailable: the authorization server is unreachable.
        """
        wanted = frozenset(scopes) if scopes is not None else None
        digest = hashlib.sha256(subject_token.encode()).hexdigest()
        key = (digest, resource, wanted)
        cached = self._cache.get(key)
        if cached is not None and cached.expires_at - self._margin_s > time.time():
            self._cache.move_to_end(key)
            return cached
        running = self._inflight.get(key)
        if running is not None:  # another request is already asking for this one
            return await asyncio.shield(running)
        future: asyncio.Future[ExchangedToken] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            token = await self._call(subject_token, resource, scopes)
            future.set_result(token)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: no "never retrieved" warning without waiters
            raise
        finally:
            del self._inflight[key]
        self._remember(key, token)
        return token

    def _remember(self, key: _Key, token: ExchangedToken) -> None:
        self._cache[key] = token
        self._cache.move_to_end(key)
        now = time.time()
        while len(self._cache) > self._max:
            self._cache.popitem(last=False)
        if len(self._cache) == self._max:  # full: drop what has expired anyway
            for stale in [k for k, v in self._cache.items() if v.expires_at <= now]:
                del self._cache[stale]

    async def _call(self, subject_token: str, resource: str,
                    scopes: Iterable[str] | None) -> ExchangedToken:
        form = {"grant_type": TOKEN_EXCHANGE, "subject_token": subject_token,
                "subject_token_type": ACCESS_TOKEN_TYPE,
                "requested_token_type": ACCESS_TOKEN_TYPE, "resource": resource}
        if scopes is not None:
            form["scope"] = " ".join(sorted(set(scopes)))
        self.call_count += 1
        try:
            response = await self._http.post(self._endpoint, data=form, auth=self._auth,
                                             headers={"Accept": "application/json"})
        except httpx.HTTPError as exc:
            raise UpstreamUnavailable(detail=f"token exchange failed: {exc}") from None
        body = _json(response)
        if response.status_code == 200:
            return _token(body, resource)
        raise self._refusal(response.status_code, body, scopes)

    def _refusal(self, status: int, body: dict[str, Any],
                 scopes: Iterable[str] | None) -> OAuthError:
        error = str(body.get("error") or "")
        said = str(body.get("error_description") or error or f"HTTP {status}")[:300]
        if status == 400 and error in ("invalid_request", "invalid_grant"):
            return InvalidToken(f"this token cannot be used for the services this API "
                                f"calls: {said}", realm=self._realm)
        if status == 400 and error == "invalid_scope":
            return InsufficientScope(scopes or (), f"this token lacks scopes this API needs "
                                     f"downstream: {said}", realm=self._realm)
        if status >= 500:
            return UpstreamUnavailable(detail=f"token exchange answered {status}")
        log.error("token exchange refused this API: %s (%s)", error, said)
        return ExchangeFailed(detail=f"{error}: {said}", server_error=error or None)


def _json(response: httpx.Response) -> dict[str, Any]:
    if len(response.content) > _MAX_RESPONSE_BYTES:
        return {}
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _token(body: dict[str, Any], resource: str) -> ExchangedToken:
    access_token, expires_in = body.get("access_token"), body.get("expires_in")
    if (not isinstance(access_token, str) or not access_token
            or body.get("issued_token_type") != ACCESS_TOKEN_TYPE
            or not isinstance(expires_in, int) or isinstance(expires_in, bool)
            or str(body.get("token_type", "")).lower() != "bearer"):
        raise ExchangeFailed(detail="the token exchange answer is not an RFC 8693 access "
                             "token response")
    scope = body.get("scope")
    scopes = frozenset(scope.split()) if isinstance(scope, str) else frozenset()
    return ExchangedToken(access_token, resource, scopes, time.time() + expires_in)
