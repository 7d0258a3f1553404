"""HTTP auth: one ``httpx.Auth`` flow for sync and async clients, and a requests adapter.

``ScopegateAuth.auth_flow`` is the single generator: attach the cached token; on 401
refresh, on 403 ``insufficient_scope`` step up; retry the call once. Refresh and step-up
are requests it yields. The ``sync_auth_flow``/``async_auth_flow`` overrides only carry
out its effects (locks, disk, sleeping) and read token-endpoint bodies: within the API
client's timeout and the SDK's own (one total deadline), up to a size limit, and with
redirects of anything carrying credentials refused whatever ``follow_redirects`` says.
"""

from __future__ import annotations

import asyncio
import time
import urllib.parse
from collections.abc import AsyncGenerator, Awaitable, Callable, Generator, Iterable
from typing import Any

import httpx
import requests
import requests.auth

from scopegate.scopes import scope_set, union, validate_tokens

from ._challenges import retry_scopes, user_authentication
from ._dpop import authorize, dpop_nonce_retry
from ._factory import FromEnv
from ._flow import Driver, Effect, arun_effect, drive_sync, run_effect
from ._http import adopt_timeout, aread_bounded, guard_redirects, read_bounded
from ._session import TokenSession
from ._sign_in import sign_in_again_flow
from ._tokens import Token
from ._user_agent import replaces_default
from ._user_agent import user_agent as sdk_user_agent

__all__ = [
    "REQUIRED_SCOPES_EXTENSION",
    "ScopegateAuth",
    "ScopegateRequestsAuth",
    "required_scopes_extension",
]

#: Request extension naming scopes one call needs on top of the auth's own.
REQUIRED_SCOPES_EXTENSION = "scopegate.required_scopes"


def required_scopes_extension(*scopes: str) -> dict[str, Any]:
    """Return ``extensions=`` for an httpx request that needs ``scopes`` (runtime-derived)."""
    return {REQUIRED_SCOPES_EXTENSION: scope_set(validate_tokens(scopes))}


class ScopegateAuth(FromEnv, httpx.Auth):
    """Bearer auth from a :class:`TokenSession`, with refresh and step-up, for httpx.

    :param session: where tokens come from.
    :param required_scopes: scopes every request needs (added to the session's).
    :param user_agent: an API SDK's own product token(s), sent before
        ``scopegate-python/<version>`` in place of the HTTP library's ``User-Agent``.
    """

    requires_request_body = True  # the body must be replayable for the one retry

    def __init__(
        self,
        session: TokenSession,
        *,
        required_scopes: Iterable[str] = (),
        sleep: Callable[[float], None] = time.sleep,
        async_sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        user_agent: str | None = None,
    ) -> None:
        self.session = session
        self.required_scopes = scope_set(validate_tokens(required_scopes))
        self.user_agent = sdk_user_agent(user_agent)
        self._sleep = sleep
        self._async_sleep = async_sleep

    def _required(self, request: httpx.Request) -> frozenset[str]:
        extra = request.extensions.get(REQUIRED_SCOPES_EXTENSION)
        return union(self.required_scopes, extra) if extra else self.required_scopes

    def auth_flow(  # type: ignore[override]  # also yields effects, run by the overrides
        self, request: httpx.Request
    ) -> Generator[httpx.Request | Effect, Any, None]:
        """Attach a token, send, and on 401 / insufficient_scope get a better one and retry once."""
        required = self._required(request)
        if replaces_default(request.headers.get("user-agent")):
            request.headers["User-Agent"] = self.user_agent
        token = self.session.cached(required)
        if token is None:
            token = yield from self.session.token_flow(required)
        authorize(request, token, self.session.dpop)
        response = yield request
        if dpop_nonce_retry(request, response, token, self.session.dpop):
            response = yield request
        demand = user_authentication(response)
        if demand is not None:  # RFC 9470: a fresh sign-in, not more scopes
            token = yield from sign_in_again_flow(self.session, required, demand, token)
        else:
            retry_with = retry_scopes(response, required, self.session.catalog)
            if retry_with is None:
                return
            token = yield from self.session.token_flow(retry_with, rejected=token)
        authorize(request, token, self.session.dpop)
        yield request

    def sync_auth_flow(
        self, request: httpx.Request
    ) -> Generator[httpx.Request, httpx.Response, None]:
        """Drive :meth:`auth_flow` for ``httpx.Client``: effects run inline."""
        if self.requires_request_body:
            request.read()
        with Driver(self.auth_flow(request), self.session.locks) as run:
            for item in run.pending():
                if isinstance(item, httpx.Request):
                    deadline = _prepare(item, request, asynchronous=False)
                    response = yield item
                    run.resume(_answer, item is request, response, deadline)
                else:
                    run.resume(run_effect, run, item, self._sleep)

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        """Drive :meth:`auth_flow` for ``httpx.AsyncClient``: blocking effects go to a thread."""
        if self.requires_request_body:
            await request.aread()
        with Driver(self.auth_flow(request), self.session.locks) as run:
            for item in run.pending():
                if isinstance(item, httpx.Request):
                    deadline = _prepare(item, request, asynchronous=True)
                    response = yield item
                    if item is request:  # the API's answer: no coroutine on the hot path
                        run.resume(_answer, True, response, deadline)
                    else:
                        await run.aresume(_aanswer(response, deadline))
                else:
                    await run.aresume(arun_effect(run, item, self._async_sleep))


def _answer(is_api_call: bool, response: httpx.Response, deadline: float) -> httpx.Response:
    """The API's answer goes back as is; a token-endpoint answer is read, bounded."""
    if not is_api_call:
        read_bounded(response, deadline)
    return response


async def _aanswer(response: httpx.Response, deadline: float) -> httpx.Response:
    """Read a token-endpoint answer on the running loop, bounded (see :func:`_answer`)."""
    await aread_bounded(response, deadline)
    return response


def _prepare(item: httpx.Request, request: httpx.Request, *, asynchronous: bool) -> float:
    """Bound a token-endpoint request the flow yields; return its total deadline."""
    if item is request:
        return 0.0
    adopt_timeout(item, request)
    guard_redirects(item, asynchronous=asynchronous)
    timeouts: dict[str, float | None] = item.extensions["timeout"]
    return time.monotonic() + max(v for v in timeouts.values() if v is not None)


def _origin(url: str | None) -> tuple[str, str, int | None]:
    parts = urllib.parse.urlsplit(url or "")
    default = {"https": 443, "http": 80}.get(parts.scheme)
    return parts.scheme, (parts.hostname or ""), parts.port or default


class ScopegateRequestsAuth(FromEnv, requests.auth.AuthBase):
    """The same behaviour for ``requests``: attach, and on 401/insufficient_scope retry once.

    Token-endpoint calls go through ``http`` (an ``httpx.Client``); ``user_agent`` as for
    :class:`ScopegateAuth`.
    """

    def __init__(
        self,
        session: TokenSession,
        *,
        required_scopes: Iterable[str] = (),
        http: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
        user_agent: str | None = None,
    ) -> None:
        self.session = session
        self.required_scopes = scope_set(validate_tokens(required_scopes))
        self.user_agent = sdk_user_agent(user_agent)
        self.http = http or httpx.Client(timeout=30)
        self._sleep = sleep

    def close(self) -> None:
        """Close the HTTP client used for token requests."""
        self.http.close()

    def _token(self, required: frozenset[str], rejected: Token | None = None) -> Token:
        if rejected is None:
            hit = self.session.cached(required)
            if hit is not None:
                return hit
        flow = self.session.token_flow(required, rejected=rejected)
        return drive_sync(flow, self.http.send, self.session.locks, self._sleep)

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        """Attach the bearer token and a hook that retries once after a refusal."""
        token = self._token(self.required_scopes)
        if replaces_default(r.headers.get("User-Agent")):
            r.headers["User-Agent"] = self.user_agent
        authorize(r, token, self.session.dpop)
        r._scopegate_token = token  # type: ignore[attr-defined]
        # The one origin this token may go to (RFC 6750 §5.3): requests copies the hook,
        # not this mark, onto a redirected request, which then never gets a token.
        r._scopegate_origin = _origin(r.url)  # type: ignore[attr-defined]
        r.register_hook("response", self._on_response)  # type: ignore[no-untyped-call]
        return r

    def _on_response(self, response: requests.Response, **kwargs: Any) -> requests.Response:
        sent = response.request
        if getattr(sent, "_scopegate_retried", False):
            return response
        if getattr(sent, "_scopegate_origin", None) != _origin(sent.url):
            return response  # a redirect's answer: its origin never gets our token
        token = getattr(sent, "_scopegate_token", None)
        demand = user_authentication(response)
        if token is not None and dpop_nonce_retry(sent, response, token, self.session.dpop):
            pass  # the same token again, with a proof carrying the server's nonce
        elif demand is not None:  # RFC 9470: a fresh sign-in, not more scopes
            token = drive_sync(sign_in_again_flow(self.session, self.required_scopes, demand,
                                                  token),
                               self.http.send, self.session.locks, self._sleep)
        else:
            retry_with = retry_scopes(response, self.required_scopes, self.session.catalog)
            if retry_with is None:
                return response
            token = self._token(retry_with, rejected=token)
        _ = response.content
        response.close()
        again = sent.copy()
        authorize(again, token, self.session.dpop)
        again._scopegate_retried = True  # type: ignore[attr-defined]
        new = response.connection.send(again, **kwargs)
        new.history.append(response)
        new.request = again
        return new
