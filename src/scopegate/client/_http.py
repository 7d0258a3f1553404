"""The SDK's own requests: bounded in time and size, and never sent on to a redirect target.

Every request a flow makes (discovery, token, device authorization) is built by
:func:`sdk_request`: it carries a timeout, and its form body can be sent once only, so
no client setting (``follow_redirects=True``) can replay a secret to the origin a
``Location`` header names (RFC 6749 §10.4). The drivers add a trace hook that stops a
redirected copy before its first header leaves, and read the answer with
:func:`read_bounded`: at most :data:`MAX_RESPONSE_BYTES`, within one total deadline
rather than a per-read timeout a trickling server can stretch without end.
"""

from __future__ import annotations

import asyncio
import math
import os
import time
from collections.abc import AsyncIterator, Awaitable, Iterator, Mapping
from typing import Any, Protocol

import httpx

from ._exceptions import AuthenticationError, ConfigError, TokenEndpointError
from ._user_agent import SDK_PRODUCT

__all__ = [
    "DEFAULT_HTTP_TIMEOUT",
    "HTTP_TIMEOUT_ENV",
    "MAX_RESPONSE_BYTES",
    "AsyncSender",
    "Sender",
    "adopt_timeout",
    "aread_bounded",
    "asend_bounded",
    "guard_redirects",
    "http_timeout",
    "read_bounded",
    "refuse_redirect",
    "sdk_request",
    "send_bounded",
]

DEFAULT_HTTP_TIMEOUT = 30.0
HTTP_TIMEOUT_ENV = "SCOPEGATE_HTTP_TIMEOUT"
MAX_RESPONSE_BYTES = 1_000_000
_MAX_HTTP_TIMEOUT = 600.0


class Sender(Protocol):
    """``httpx.Client.send``, or anything that sends like it."""

    def __call__(
        self, request: httpx.Request, *, stream: bool = ..., follow_redirects: bool = ...
    ) -> httpx.Response: ...


class AsyncSender(Protocol):
    """``httpx.AsyncClient.send``, or anything that sends like it."""

    def __call__(
        self, request: httpx.Request, *, stream: bool = ..., follow_redirects: bool = ...
    ) -> Awaitable[httpx.Response]: ...


def http_timeout(explicit: float | None = None) -> float:
    """Return the total seconds one SDK request may take: ``explicit``, else the env, else 30."""
    raw: object = explicit
    if explicit is None:
        raw = os.environ.get(HTTP_TIMEOUT_ENV, "").strip() or DEFAULT_HTTP_TIMEOUT
    try:
        seconds = float(raw)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        seconds = math.nan
    if not 0 < seconds <= _MAX_HTTP_TIMEOUT:
        where = "http_timeout" if explicit is not None else HTTP_TIMEOUT_ENV
        raise ConfigError(f"{where}={raw!r}: expected seconds, above 0 and at most 600")
    return seconds


def _redirect_refused(url: object, target: object = None) -> AuthenticationError:
    where = f" to {target}" if target else ""
    return AuthenticationError(
        f"{url} answered with a redirect{where}; requests carrying credentials never follow "
        "redirects (RFC 6749 §10.4), so check the issuer URL"
    )


class _SentOnce(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A form body that can go out once: a redirect can never replay it elsewhere."""

    def __init__(self, body: bytes, url: httpx.URL) -> None:
        self._body = body
        self._url = url
        self._sent = False

    def _take(self) -> bytes:
        if self._sent:
            raise _redirect_refused(self._url)
        self._sent = True
        return self._body

    def __iter__(self) -> Iterator[bytes]:
        yield self._take()

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield self._take()


def sdk_request(
    method: str,
    url: str,
    *,
    timeout: float,
    form: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
    json: Mapping[str, Any] | None = None,
) -> httpx.Request:
    """Build a request to the authorization server (a form POST when ``form`` is given,
    a JSON POST, such as an RFC 7591 registration, when ``json`` is)."""
    all_headers = {"Accept": "application/json", "User-Agent": SDK_PRODUCT, **(headers or {})}
    extensions: dict[str, Any] = {"timeout": httpx.Timeout(timeout).as_dict()}
    if form is None and json is None:
        return httpx.Request(method, url, headers=all_headers, extensions=extensions)
    body: dict[str, Any] = {"json": dict(json)} if json is not None else {"data": dict(form or {})}
    request = httpx.Request(method, url, headers=all_headers, extensions=extensions, **body)
    # ``request.content`` stays readable (event hooks log it); what goes on the wire is
    # the one-shot stream, which is also what httpx would hand to a redirect.
    request.stream = _SentOnce(request.content, request.url)
    return request


def _budget(request: httpx.Request) -> float | None:
    timeouts = request.extensions.get("timeout") or {}
    values = [v for v in timeouts.values() if isinstance(v, int | float)]
    return max(values) if values else None


def adopt_timeout(request: httpx.Request, caller: httpx.Request) -> None:
    """Bound ``request`` by ``caller``'s timeout too (the API client's, e.g. ``timeout=2``)."""
    own, theirs = _budget(request), _budget(caller)
    limits = [v for v in (own, theirs) if v is not None]
    seconds = min(limits, default=DEFAULT_HTTP_TIMEOUT)
    request.extensions["timeout"] = httpx.Timeout(seconds).as_dict()


def guard_redirects(request: httpx.Request, *, asynchronous: bool) -> None:
    """Stop any copy of ``request`` for another URL before its headers are sent.

    httpx passes a request's extensions to the redirects it builds; httpcore calls the
    ``trace`` extension before it writes the request headers. Only requests carrying
    credentials (a form body or an ``Authorization`` header) are guarded.
    """
    if not isinstance(request.stream, _SentOnce) and "authorization" not in request.headers:
        return
    first: list[object] = []

    def check(event: str, info: Mapping[str, Any]) -> None:
        if not event.endswith("send_request_headers.started"):
            return
        url = info["request"].url
        where = (url.scheme, url.host, url.port, url.target)
        if not first:
            first.append(where)
        elif where != first[0]:
            raise _redirect_refused(request.url, str(url))

    async def acheck(event: str, info: Mapping[str, Any]) -> None:
        check(event, info)

    request.extensions["trace"] = acheck if asynchronous else check


def refuse_redirect(request: httpx.Request, response: httpx.Response) -> None:
    """Raise if ``response`` is a redirect, or the answer to a redirected copy."""
    if response.request is not request:
        raise _redirect_refused(request.url, response.request.url)
    if 300 <= response.status_code < 400:
        raise _redirect_refused(request.url, response.headers.get("location"))


def _too_large(response: httpx.Response) -> TokenEndpointError:
    return TokenEndpointError(
        "invalid_response",
        f"response too large (over {MAX_RESPONSE_BYTES} bytes)",
        response.status_code,
    )


def _late(request: httpx.Request) -> httpx.ReadTimeout:
    return httpx.ReadTimeout(
        f"{request.url}: no complete answer within {_budget(request) or 0:g}s (total deadline)",
        request=request,
    )


class _Body:
    """Chunks read so far, refused once they pass :data:`MAX_RESPONSE_BYTES`."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self.chunks: list[bytes] = []
        self.size = 0
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_RESPONSE_BYTES:
            raise _too_large(response)

    def add(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size > MAX_RESPONSE_BYTES:
            raise _too_large(self.response)
        self.chunks.append(chunk)

    def keep(self) -> None:
        """Make the body what ``response.content`` and ``response.json()`` return."""
        self.response._content = b"".join(self.chunks)


def read_bounded(response: httpx.Response, deadline: float) -> None:
    """Read a streamed answer, at most :data:`MAX_RESPONSE_BYTES`, before ``deadline``."""
    try:
        body = _Body(response)
        for chunk in response.iter_bytes():
            body.add(chunk)
            if time.monotonic() > deadline:
                raise _late(response.request)
    finally:
        response.close()
    body.keep()


async def aread_bounded(response: httpx.Response, deadline: float) -> None:
    """The asyncio form of :func:`read_bounded`; the deadline interrupts a blocked read."""
    try:
        body = _Body(response)
        async with asyncio.timeout(max(0.0, deadline - time.monotonic())):
            async for chunk in response.aiter_bytes():
                body.add(chunk)
    except TimeoutError:
        raise _late(response.request) from None
    finally:
        await response.aclose()
    body.keep()


def send_bounded(send: Sender, request: httpx.Request) -> httpx.Response:
    """Send without following redirects and read the answer within the request's deadline."""
    deadline = time.monotonic() + (_budget(request) or DEFAULT_HTTP_TIMEOUT)
    guard_redirects(request, asynchronous=False)
    response = send(request, stream=True, follow_redirects=False)
    read_bounded(response, deadline)
    return response


async def asend_bounded(send: AsyncSender, request: httpx.Request) -> httpx.Response:
    """The asyncio form of :func:`send_bounded`: one deadline over headers and body."""
    deadline = time.monotonic() + (_budget(request) or DEFAULT_HTTP_TIMEOUT)
    guard_redirects(request, asynchronous=True)
    try:
        async with asyncio.timeout(deadline - time.monotonic()):
            response = await send(request, stream=True, follow_redirects=False)
    except TimeoutError:
        raise _late(request) from None
    await aread_bounded(response, deadline)
    return response


