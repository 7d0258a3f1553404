"""The issuer's signing keys, fetched once and kept: an unknown ``kid`` refetches at most once.

Each key's algorithm is pinned from the JWK itself (``alg``, else derived from ``kty``/``crv``)
and only asymmetric algorithms are accepted, so ``none`` and HS/RS confusion cannot happen.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import httpx
import jwt

from scopegate.errors import InvalidToken
from scopegate.tokens import VerificationKey

from .errors import UpstreamUnavailable

__all__ = ["ALLOWED_ALGORITHMS", "JWKSCache", "SigningKey"]

log = logging.getLogger("scopegate.guard")

ALLOWED_ALGORITHMS = frozenset({"ES256", "ES384", "EdDSA"})
_DERIVED_ALG: dict[tuple[Any, Any], str] = {
    ("EC", "P-256"): "ES256",
    ("EC", "P-384"): "ES384",
    ("OKP", "Ed25519"): "EdDSA",
}
_MAX_JWKS_BYTES = 256 * 1024


SigningKey = VerificationKey
"""The issuer's key for one ``kid``, its ``alg`` pinned (the shared :class:`VerificationKey`)."""


def _parse_key(jwk: Any) -> VerificationKey | None:
    if not isinstance(jwk, dict) or not isinstance(jwk.get("kid"), str):
        return None
    if jwk.get("use", "sig") != "sig":
        return None
    alg = jwk.get("alg") or _DERIVED_ALG.get((jwk.get("kty"), jwk.get("crv")))
    if not isinstance(alg, str) or alg not in ALLOWED_ALGORITHMS:
        return None
    try:
        parsed = jwt.PyJWK(jwk, algorithm=alg)
    except (jwt.PyJWKError, jwt.InvalidKeyError, ValueError, TypeError):
        return None
    return VerificationKey(jwk["kid"], alg, parsed.key, parsed.Algorithm)


class JWKSCache:
    """Fetches and caches the issuer's JWKS.

    :param http: the async client used for every fetch.
    :param issuer: the issuer URL (used to discover ``jwks_uri`` from its metadata).
    :param jwks_uri: skip discovery and fetch this URL.
    :param max_age_s: refresh a JWKS older than this on the next lookup.
    :param min_refetch_s: an unknown ``kid`` triggers at most one fetch per this interval.
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        issuer: str,
        jwks_uri: str | None = None,
        max_age_s: float = 600.0,
        min_refetch_s: float = 30.0,
    ) -> None:
        self._http = http
        self._issuer = issuer.rstrip("/")
        self._jwks_uri = jwks_uri
        self._max_age_s = max_age_s
        self._min_refetch_s = min_refetch_s
        self._keys: dict[str, VerificationKey] | None = None
        self._fetched_at = float("-inf")
        self._lock = asyncio.Lock()
        self.fetch_count = 0

    async def get(self, kid: str) -> VerificationKey:
        """Return the key for ``kid``, fetching the JWKS when it is missing or unknown."""
        if self._keys is not None and time.monotonic() - self._fetched_at < self._max_age_s:
            found = self._keys.get(kid)
            if found is not None:
                return found
        async with self._lock:
            now = time.monotonic()
            fresh = now - self._fetched_at < self._max_age_s
            if self._keys is not None and (found := self._keys.get(kid)) and fresh:
                return found
            if self._keys is None or now - self._fetched_at >= self._min_refetch_s:
                await self._refresh()
            found = self._keys.get(kid) if self._keys is not None else None
        if found is None:
            raise InvalidToken("unknown signing key", detail=f"kid={kid!r} not in JWKS")
        return found

    async def ensure_loaded(self) -> None:
        """Fetch the JWKS unless keys are held (readiness probes: held keys still verify).

        :raises UpstreamUnavailable: none is held and the fetch failed.
        """
        if self._keys is None:
            async with self._lock:
                if self._keys is None:
                    await self._refresh()

    async def _refresh(self) -> None:
        self._fetched_at = time.monotonic()  # also on failure: never hammer the issuer
        try:
            uri = self._jwks_uri or await self._discover()
            response = await self._http.get(uri, headers={"Accept": "application/json"})
            if response.status_code != 200 or len(response.content) > _MAX_JWKS_BYTES:
                raise ValueError(f"JWKS answered {response.status_code}")
            body = response.json()
            raw_keys = body.get("keys") if isinstance(body, dict) else None
            if not isinstance(raw_keys, list):
                raise ValueError("JWKS has no keys array")
        except (httpx.HTTPError, ValueError) as exc:
            log.warning("JWKS fetch failed: %s", exc)
            if self._keys is None:
                raise UpstreamUnavailable(detail=f"JWKS fetch failed: {exc}") from None
            return  # keep serving the keys we already trust
        self.fetch_count += 1
        self._keys = {k.kid: k for k in map(_parse_key, raw_keys) if k is not None}

    async def _discover(self) -> str:
        url = f"{self._issuer}/.well-known/oauth-authorization-server"
        try:
            response = await self._http.get(url)
            meta = response.json() if response.status_code == 200 else {}
        except (httpx.HTTPError, ValueError):
            meta = {}
        uri = meta.get("jwks_uri") if isinstance(meta, dict) else None
        self._jwks_uri = uri if isinstance(uri, str) and uri else f"{self._issuer}/jwks.json"
        return self._jwks_uri
