"""Audience telemetry for the ``warn`` rollout mode (seed 000).

While the API still accepts tokens without its audience, each one is counted by client and
by SDK product, so an operator can see when enough clients have upgraded to ``enforce``.
"""

from __future__ import annotations

import re

from prometheus_client import Counter

__all__ = ["AUDIENCE_MISSING", "record_missing_audience", "sdk_product"]

AUDIENCE_MISSING = Counter(
    "scopegate_guard_audience_missing",
    "Tokens accepted without this API's audience (audience_mode=warn).",
    ["client_id", "sdk"],
)

# The first RFC 9110 product token, e.g. "scopegate-python/0.1.0 httpx/0.28" -> "scopegate-python".
_PRODUCT = re.compile(r"\s*([A-Za-z0-9!#$%&'*+.^_`|~-]{1,64})(?:/|\s|$)")
_MAX_LABEL = 64


def sdk_product(user_agent: str | None) -> str:
    """Return the SDK product name from a ``User-Agent`` header, or ``"unknown"``."""
    if not user_agent:
        return "unknown"
    match = _PRODUCT.match(user_agent)
    return match.group(1).lower() if match else "unknown"


def record_missing_audience(client_id: str, user_agent: str | None) -> None:
    """Count one accepted token that lacked the audience."""
    AUDIENCE_MISSING.labels(client_id=client_id[:_MAX_LABEL], sdk=sdk_product(user_agent)).inc()
