"""Guard metrics, in prometheus-client's default registry (serve them with the app's
``/metrics``; they work in prometheus-client's multiprocess mode too).

``scopegate_guard_check_duration_seconds{outcome}`` times each decision the guard makes
on a declared route (token check, scopes, resolver, membership, authorization): the
guard's own share of a request. ``outcome`` is ``allowed`` or the refusal's HTTP status
(``401``, ``403``, ``429``, ``503``), so the labels stay few.
"""

from __future__ import annotations

from prometheus_client import Histogram

__all__ = ["CHECK_BUCKETS", "CHECK_DURATION", "allowed", "refused"]

CHECK_BUCKETS = (0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25, 1.0)
"""Upper bounds (seconds): a cache hit takes microseconds, a JWKS or introspection call
milliseconds."""

CHECK_DURATION = Histogram(
    "scopegate_guard_check_duration_seconds",
    "Time the guard took to decide on a request, by outcome",
    ["outcome"], buckets=CHECK_BUCKETS)

allowed = CHECK_DURATION.labels("allowed")  # bound once: the hot path skips the label lookup
_refused = {code: CHECK_DURATION.labels(str(code)) for code in (400, 401, 403, 429, 503)}


def refused(status: int, seconds: float) -> None:
    """Time one refusal answered with ``status``."""
    found = _refused.get(status)
    if found is None:
        found = _refused[status] = CHECK_DURATION.labels(str(status))
    found.observe(seconds)
