"""The SDK's ``User-Agent`` (RFC 9110 §10.1.5): ``scopegate-python/<version>``.

An API's own SDK built on this one names itself first (``user_agent="acme-sdk/2.3.1"``
gives ``acme-sdk/2.3.1 scopegate-python/0.1.0``), so the guard's audience telemetry
(seed 000) counts tokens by the product and version that actually sent them.
"""

from __future__ import annotations

import re

from scopegate import __version__

from ._exceptions import ConfigError

__all__ = ["SDK_PRODUCT", "replaces_default", "user_agent"]

SDK_PRODUCT = f"scopegate-python/{__version__}"
# RFC 9110 §10.1.5: product = token ["/" product-version]; token = 1*tchar.
_TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_PRODUCT = re.compile(rf"{_TOKEN}(?:/{_TOKEN})?")
_MAX_LENGTH = 200
# What the HTTP libraries send when nobody named the caller.
_LIBRARY_DEFAULTS = ("python-httpx/", "python-requests/")


def user_agent(product: str | None = None) -> str:
    """Return the ``User-Agent`` to send: ``product`` (if given) before this SDK's own.

    :param product: one or more RFC 9110 product tokens, e.g. ``"acme-sdk/2.3.1"``.
    :raises ConfigError: ``product`` is not product tokens, or is too long.
    """
    if product is None:
        return SDK_PRODUCT
    parts = product.split()
    if not parts or len(product) > _MAX_LENGTH or not all(map(_PRODUCT.fullmatch, parts)):
        raise ConfigError(f"user_agent {product[:_MAX_LENGTH]!r}: expected RFC 9110 product "
                          "tokens such as 'acme-sdk/2.3.1'")
    return " ".join((*parts, SDK_PRODUCT))


def replaces_default(value: str | None) -> bool:
    """Whether a request's ``User-Agent`` is only an HTTP library's default (or absent)."""
    return not value or value.startswith(_LIBRARY_DEFAULTS)
