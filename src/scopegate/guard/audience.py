"""Audience telemetry for the ``warn`` rollout mode (seed 000).

While the API still accepts tokens without its audience, each one is counted by client and
by SDK product AND version, so an operator can see which SDK versions still send such
tokens and when enough clients have upgraded to ``enforce``. The ``User-Agent`` is the
caller's to choose, so labels are bounded: names are cut to a safe charset and length,
and past :data:`MAX_SDK_LABELS` distinct product/version pairs per process the rest are
counted as ``other``.
"""

from __future__ import annotations

import re
import threading

from prometheus_client import Counter

__all__ = ["AUDIENCE_MISSING", "MAX_SDK_LABELS", "SdkLabels", "record_missing_audience",
           "sdk_product", "sdk_product_version"]

AUDIENCE_MISSING = Counter(
    "scopegate_guard_audience_missing",
    "Tokens accepted without this API's audience (audience_mode=warn).",
    ["client_id", "sdk", "sdk_version"],
)

#: Distinct (product, version) label pairs one process keeps; the rest are ``other``.
MAX_SDK_LABELS = 200
OTHER = "other"
UNKNOWN = "unknown"

# The first RFC 9110 product token, e.g. "scopegate-python/0.1.0 httpx/0.28" ->
# ("scopegate-python", "0.1.0").
_PRODUCT = re.compile(r"\s*([A-Za-z0-9!#$%&'*+.^_`|~-]{1,64})(?:/([^\s]*))?(?:\s|$)")
_UNSAFE = re.compile(r"[^A-Za-z0-9.+_-]")
_MAX_LABEL = 64
_MAX_VERSION = 32


def sdk_product_version(user_agent: str | None) -> tuple[str, str]:
    """Return the first product token of a ``User-Agent`` as (product, version).

    Both are cut to letters, digits and ``.+_-`` (others become ``_``); the product is
    lower-cased; a missing product is ``unknown``, a missing version ``""``.
    """
    match = _PRODUCT.match(user_agent or "")
    if match is None:
        return UNKNOWN, ""
    product = _UNSAFE.sub("_", match.group(1).lower())[:_MAX_LABEL]
    version = _UNSAFE.sub("_", match.group(2) or "")[:_MAX_VERSION]
    return product, version


def sdk_product(user_agent: str | None) -> str:
    """Return the SDK product name from a ``User-Agent`` header, or ``"unknown"``."""
    return sdk_product_version(user_agent)[0]


class SdkLabels:
    """Hands out (product, version) labels, at most ``limit`` distinct pairs, then ``other``."""

    def __init__(self, limit: int = MAX_SDK_LABELS) -> None:
        self.limit = limit
        self._seen: set[tuple[str, str]] = set()
        self._lock = threading.Lock()

    def label(self, user_agent: str | None) -> tuple[str, str]:
        """Return the labels for one ``User-Agent``."""
        pair = sdk_product_version(user_agent)
        if pair in self._seen:  # the hot path: no lock once a pair is known
            return pair
        with self._lock:
            if len(self._seen) >= self.limit:
                return OTHER, OTHER
            self._seen.add(pair)
        return pair


_labels = SdkLabels()


def record_missing_audience(client_id: str, user_agent: str | None) -> None:
    """Count one accepted token that lacked the audience."""
    product, version = _labels.label(user_agent)
    AUDIENCE_MISSING.labels(client_id=client_id[:_MAX_LABEL], sdk=product,
                            sdk_version=version).inc()
