"""What a hit does when Redis cannot answer: a documented policy, never an error.

Policies, chosen with ``on_unavailable``:

- ``"fallback"`` (default): decide with a local :class:`MemoryRateLimiter`. Each replica
  then enforces the limit on its own, so while Redis is down a client may get up to
  N x replicas per window: the API stays up and no token goes unlimited.
- ``"allow"``: admit every request; the limit is off until Redis answers again.
- ``"deny"``: refuse every request (429) with ``retry_after_ms`` = ``probe_interval_s``;
  strictest, the guarded API is down while Redis is.

Whatever the policy, every hit (or peek) decided without Redis increments the Prometheus
counter ``scopegate_ratelimit_fallback_total{policy="..."}``; the ``logging`` module gets
a warning at most once per ``log_interval_s`` (with how many hits it stands for) and the
recovery once at INFO. After a failure Redis is not asked again for ``probe_interval_s``,
so a dead or black-holed server costs one timeout per interval, not one per request.
Arguments no caller should send still raise ``ValueError``; nothing else is raised.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from typing import Final, Literal, get_args

from prometheus_client import Counter

from ._base import Decision, DualRateLimiter, RateLimiterUnavailable
from ._bounds import check_hit
from .memory import MemoryRateLimiter

__all__ = [
    "FALLBACK_TOTAL",
    "UNAVAILABLE_POLICIES",
    "FallbackRateLimiter",
    "UnavailablePolicy",
]

UnavailablePolicy = Literal["fallback", "allow", "deny"]
UNAVAILABLE_POLICIES: Final[frozenset[str]] = frozenset(get_args(UnavailablePolicy))

# Module level: registered once per process however many limiters (or tests) exist.
FALLBACK_TOTAL: Final = Counter(
    "scopegate_ratelimit_fallback_total",
    "Rate-limit hits decided without Redis because it was unavailable, by policy.",
    ["policy"],
)

logger = logging.getLogger(__name__)


class FallbackRateLimiter:
    """A shared limiter (Redis) that degrades to a policy instead of failing the request.

    :param primary: the shared limiter; it signals trouble with ``RateLimiterUnavailable``.
    :param fallback: the local limiter for the ``"fallback"`` policy (a fresh
        :class:`MemoryRateLimiter` when omitted).
    :param on_unavailable: ``"fallback"``, ``"allow"`` or ``"deny"`` (see the module text).
    :param probe_interval_s: how long to skip the primary after it failed.
    :param log_interval_s: at most one warning per this many seconds.
    :param clock: monotonic seconds; inject a fake one in tests.
    """

    def __init__(
        self,
        primary: DualRateLimiter,
        fallback: DualRateLimiter | None = None,
        *,
        on_unavailable: UnavailablePolicy = "fallback",
        probe_interval_s: float = 1.0,
        log_interval_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if on_unavailable not in UNAVAILABLE_POLICIES:
            raise ValueError(
                f"on_unavailable must be one of {sorted(UNAVAILABLE_POLICIES)}, "
                f"got {on_unavailable!r}"
            )
        self._primary = primary
        self._fallback = fallback if fallback is not None else MemoryRateLimiter()
        self._policy: UnavailablePolicy = on_unavailable
        self._probe_interval_s = probe_interval_s
        self._log_interval_s = log_interval_s
        self._clock = clock
        self._counter = FALLBACK_TOTAL.labels(policy=on_unavailable)
        self._skip_primary_until = -math.inf
        self._last_warning = -math.inf
        self._hits_without_primary = 0
        self._degraded = False

    @property
    def policy(self) -> UnavailablePolicy:
        """The policy applied while the primary is unavailable."""
        return self._policy

    @property
    def degraded(self) -> bool:
        """Whether the last attempt on the primary failed (hits follow the policy)."""
        return self._degraded

    async def hit(self, bucket_id: str, *, limit: int, window_s: float) -> Decision:
        """Count one request on the primary, or apply the policy if it is unavailable."""
        return await self._decide(bucket_id, limit, window_s, count=True)

    async def peek(self, bucket_id: str, *, limit: int, window_s: float) -> Decision:
        """Look at the window on the primary, or apply the policy if it is unavailable."""
        return await self._decide(bucket_id, limit, window_s, count=False)

    def hit_sync(self, bucket_id: str, *, limit: int, window_s: float) -> Decision:
        """The blocking twin of :meth:`hit`, for Flask."""
        return self._decide_sync(bucket_id, limit, window_s, count=True)

    def peek_sync(self, bucket_id: str, *, limit: int, window_s: float) -> Decision:
        """The blocking twin of :meth:`peek`, for Flask."""
        return self._decide_sync(bucket_id, limit, window_s, count=False)

    async def _decide(self, bucket_id: str, limit: int, window_s: float, *,
                      count: bool) -> Decision:
        check_hit(bucket_id, limit, window_s)
        if self._primary_due():
            ask = self._primary.hit if count else self._primary.peek
            try:
                return self._answered(await ask(bucket_id, limit=limit, window_s=window_s))
            except RateLimiterUnavailable as exc:
                self._primary_failed(exc)
        local = self._fallback.hit if count else self._fallback.peek
        return self._policy_decision(limit, count) or await local(bucket_id, limit=limit,
                                                                  window_s=window_s)

    def _decide_sync(self, bucket_id: str, limit: int, window_s: float, *,
                     count: bool) -> Decision:
        check_hit(bucket_id, limit, window_s)
        if self._primary_due():
            ask = self._primary.hit_sync if count else self._primary.peek_sync
            try:
                return self._answered(ask(bucket_id, limit=limit, window_s=window_s))
            except RateLimiterUnavailable as exc:
                self._primary_failed(exc)
        local = self._fallback.hit_sync if count else self._fallback.peek_sync
        return self._policy_decision(limit, count) or local(bucket_id, limit=limit,
                                                            window_s=window_s)

    def _primary_due(self) -> bool:
        """Whether to ask the primary: not while a recent failure's probe interval runs."""
        return self._clock() >= self._skip_primary_until

    def _answered(self, decision: Decision) -> Decision:
        """The primary decided: it is healthy again, if it was not."""
        if self._degraded:
            self._primary_recovered()
        return decision

    async def aclose(self) -> None:
        """Close both limiters."""
        await self._primary.aclose()
        await self._fallback.aclose()

    def close(self) -> None:
        """Close both limiters' synchronous resources."""
        self._primary.close()
        self._fallback.close()

    def _policy_decision(self, limit: int, count: bool) -> Decision | None:
        """Count a hit decided without the primary; the answer, or None to ask the fallback.

        A :class:`Decision` is always true, so ``fixed or local(...)`` reads "the policy's
        answer, else the fallback's".
        """
        self._counter.inc()
        self._hits_without_primary += 1
        if self._policy == "allow":
            return Decision(allowed=True, limit=limit, remaining=limit - 1 if count else limit)
        if self._policy == "deny":
            wait_ms = max(1, math.ceil(self._probe_interval_s * 1000))
            return Decision(allowed=False, limit=limit, remaining=0, retry_after_ms=wait_ms)
        return None

    def _primary_failed(self, exc: RateLimiterUnavailable) -> None:
        now = self._clock()
        self._skip_primary_until = now + self._probe_interval_s
        self._degraded = True
        if now - self._last_warning >= self._log_interval_s:
            self._last_warning = now
            logger.warning(
                "rate limiter unavailable, applying on_unavailable=%r "
                "(%d hits decided without it so far): %s",
                self._policy,
                self._hits_without_primary + 1,
                exc,
            )

    def _primary_recovered(self) -> None:
        self._degraded = False
        logger.info(
            "rate limiter available again after %d hits decided without it",
            self._hits_without_primary,
        )
        self._hits_without_primary = 0
