"""What a DPoP checker remembers: stateless server nonces and the ``jti`` replay cache.

Nonces (RFC 9449 §8-9) are HMACs of the current time step under a server secret: any
replica with the same secret accepts them, and nothing is stored. A nonce is good for the
step it was made in and the one after (``window_s`` to ``2 * window_s``).

The replay cache (RFC 9449 §11.1) remembers each proof's ``jti`` for as long as the proof
could still be accepted. In memory per process, or shared by every replica in Redis with
one ``SET NX EX`` per proof (the redis client is passed in: ``tokens/`` imports no Redis).
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections import OrderedDict
from typing import Any

from ._keys import b64url

__all__ = ["NonceSource", "ReplayCache", "ReplayCacheUnavailable"]


class ReplayCacheUnavailable(Exception):
    """The shared replay cache (Redis) did not answer: a proof cannot be judged fresh."""


class NonceSource:
    """Server nonces derived from the time and a secret (no state, any replica).

    :param secret: at least 16 bytes shared by every replica.
    :param window_s: length of a time step; a nonce lives one to two steps.
    """

    def __init__(self, secret: bytes, window_s: float = 300.0) -> None:
        if len(secret) < 16:
            raise ValueError("a DPoP nonce secret needs at least 16 bytes")
        self._secret = secret
        self._window_s = window_s

    def _for_step(self, step: int) -> str:
        mac = hmac.new(self._secret, b"dpop-nonce:%d" % step, hashlib.sha256).digest()
        return b64url(mac[:18])

    def current(self, now: float | None = None) -> str:
        """The nonce to hand out now (``DPoP-Nonce``)."""
        return self._for_step(int((time.time() if now is None else now) // self._window_s))

    def valid(self, nonce: str | None, now: float | None = None) -> bool:
        """Whether ``nonce`` was made in this step or the one before (constant time)."""
        if not nonce or len(nonce) != 24:
            return False
        step = int((time.time() if now is None else now) // self._window_s)
        good = [hmac.compare_digest(nonce, self._for_step(s)) for s in (step, step - 1)]
        return any(good)


class ReplayCache:
    """Remembers proof ``jti`` values until their proofs expire.

    :param ttl_s: how long a ``jti`` is remembered (the proof's whole acceptance window).
    :param redis: an asyncio Redis client shared by the replicas, or None for memory.
    :param namespace: the key prefix in Redis (one per audience: a ``jti`` is per server).
    :param max_entries: memory bound; the oldest entries go first.
    """

    def __init__(self, ttl_s: float, *, redis: Any = None, namespace: str = "scopegate:dpop",
                 max_entries: int = 100_000) -> None:
        self.ttl_s = ttl_s
        self.redis = redis
        self.namespace = namespace
        self.max_entries = max_entries
        self._seen: OrderedDict[str, float] = OrderedDict()

    async def first_use(self, jkt: str, jti: str) -> bool:
        """Record ``jti`` (per key) and say whether it is new; False is a replay."""
        key = f"{jkt}:{jti}"
        if self.redis is not None:
            name = f"{self.namespace}:{hashlib.sha256(key.encode()).hexdigest()}"
            try:
                return bool(await self.redis.set(name, b"1", nx=True,
                                                 ex=max(1, int(self.ttl_s + 0.999))))
            except Exception as exc:  # any Redis or socket error: fail closed, say why
                raise ReplayCacheUnavailable(str(exc)) from None
        return self._first_use_in_memory(key)

    def _first_use_in_memory(self, key: str) -> bool:
        now = time.monotonic()
        seen = self._seen
        while seen and next(iter(seen.values())) <= now:  # expired, oldest first
            seen.popitem(last=False)
        if key in seen:
            return False
        if len(seen) >= self.max_entries:
            seen.popitem(last=False)
        seen[key] = now + self.ttl_s
        return True

    async def aclose(self) -> None:
        """Close the Redis client if one is held."""
        if self.redis is not None:
            await self.redis.aclose()
