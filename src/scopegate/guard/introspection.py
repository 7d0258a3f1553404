"""RFC 7662 token introspection for opaque tokens and API keys.

Positive answers are cached by the authenticator's auth-context cache (short TTL, never past
``exp``); this client remembers negative answers for an even shorter time so a burst of a
revoked or random token does not turn into a burst of introspection calls.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

import httpx

from .errors import UpstreamUnavailable

__all__ = ["IntrospectionClient"]

log = logging.getLogger("scopegate.guard")

_MAX_RESPONSE_BYTES = 64 * 1024


class IntrospectionClient:
    """Asks the authorization server whether a token is active.

    :param http: the async client used for every call.
    :param endpoint: the RFC 7662 endpoint (``<issuer>/oauth/introspect``).
    :param client_id: this resource server's client id (HTTP Basic).
    :param client_secret: its secret.
    :param negative_ttl_s: how long an inactive answer is remembered.
    :param max_negative: bound on remembered inactive tokens.
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        endpoint: str,
        client_id: str,
        client_secret: str,
        negative_ttl_s: float = 5.0,
        max_negative: int = 10_000,
    ) -> None:
        self._http = http
        self._endpoint = endpoint
        self._auth = httpx.BasicAuth(client_id, client_secret)
        self._negative_ttl_s = negative_ttl_s
        self._max_negative = max_negative
        self._negative: OrderedDict[str, float] = OrderedDict()
        self.call_count = 0

    async def introspect(self, token: str, token_hash: str) -> Mapping[str, Any] | None:
        """Return the active token's introspection response, or None when inactive."""
        until = self._negative.get(token_hash)
        if until is not None:
            if until > time.monotonic():
                return None
            del self._negative[token_hash]
        self.call_count += 1
        try:
            response = await self._http.post(
                self._endpoint,
                data={"token": token},
                auth=self._auth,
                headers={"Accept": "application/json"},
            )
        except httpx.HTTPError as exc:
            raise UpstreamUnavailable(detail=f"introspection failed: {exc}") from None
        if response.status_code != 200 or len(response.content) > _MAX_RESPONSE_BYTES:
            # 401 here means *our* credentials are wrong: an operator problem, not the caller's.
            log.error("introspection answered %s", response.status_code)
            raise UpstreamUnavailable(detail=f"introspection answered {response.status_code}")
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or not isinstance(body.get("active"), bool):
            raise UpstreamUnavailable(detail="introspection answer is not RFC 7662 JSON")
        if not body["active"]:
            self.remember_inactive(token_hash)
            return None
        return body

    def remember_inactive(self, token_hash: str) -> None:
        """Cache a negative verdict (also used when an active answer fails our checks)."""
        self._negative[token_hash] = time.monotonic() + self._negative_ttl_s
        self._negative.move_to_end(token_hash)
        while len(self._negative) > self._max_negative:
            self._negative.popitem(last=False)
