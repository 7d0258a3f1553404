"""Audience telemetry for the ``warn`` rollout mode (seed 000).

While the API still accepts tokens without its audience, each one is counted by client and
by SDK product, so an operator can see when enough clients have upgraded to ``enforce``.
"""

from __future__ import annotations

import re

from prometheus_client import Counter

__all__ = ["AUDIENCE_MISSING", "record_missing_audience", "sdk_product",
           "sdk_product_and_version"]

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


_PRODUCT_VERSION = re.compile(
    r"\s*([A-Za-z0-9!#$%&'*+.^_`|~-]{1,64})(?:/([0-9A-Za-z][0-9A-Za-z.+_-]{0,31}))?")


def sdk_product_and_version(user_agent: str | None) -> tuple[str, str]:
    """The first product token of a ``User-Agent`` and its version (``""`` when absent),
    e.g. ``("scopegate-python", "0.4.0")``; ``("unknown", "")`` when there is none."""
    match = _PRODUCT_VERSION.match(user_agent or "")
    if match is None:
        return "unknown", ""
    return match.group(1).lower(), match.group(2) or ""


def record_missing_audience(client_id: str, user_agent: str | None) -> None:
    """Count one accepted token that lacked the audience."""
    AUDIENCE_MISSING.labels(client_id=client_id[:_MAX_LABEL], sdk=sdk_product(user_agent)).inc()
