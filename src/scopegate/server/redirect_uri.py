"""Redirect-URI rules: exact match, except the port of a loopback URI (RFC 8252 §7.3).

A native app listens on ``http://127.0.0.1:<any port>/path`` (or ``[::1]``), so for a
registered loopback URI only the port may differ; scheme, host, path and query must be
identical. Everything else must match the registered string exactly (RFC 6749 §3.1.2).
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlencode, urlsplit, urlunsplit

__all__ = ["MAX_REDIRECT_URI_LENGTH", "add_query", "is_loopback", "match_redirect_uri",
           "validate_registered"]

MAX_REDIRECT_URI_LENGTH = 2000
_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1"})


def is_loopback(uri: str) -> bool:
    """Return whether ``uri`` is an ``http`` URI on the IPv4 or IPv6 loopback literal."""
    try:
        parts = urlsplit(uri)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return False
    return parts.scheme == "http" and parts.hostname in _LOOPBACK_HOSTS


def _without_port(uri: str) -> tuple[str, str | None, str, str]:
    parts = urlsplit(uri)
    return parts.scheme, parts.hostname, parts.path or "/", parts.query


def _well_formed(uri: str) -> bool:
    if not uri or len(uri) > MAX_REDIRECT_URI_LENGTH or any(c.isspace() for c in uri):
        return False
    try:
        parts = urlsplit(uri)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return False
    # RFC 6749 §3.1.2: absolute URI, no fragment.
    return bool(parts.scheme) and bool(parts.netloc or parts.scheme not in ("http", "https")) \
        and "#" not in uri


def validate_registered(uri: str) -> str:
    """Check a redirect URI before a client is registered with it.

    :raises ValueError: the URI is not absolute, has a fragment, or is plain ``http`` on a
        host other than the loopback literals.
    """
    if not _well_formed(uri):
        raise ValueError(f"not an absolute redirect URI without fragment: {uri!r}")
    parts = urlsplit(uri)
    if parts.scheme == "http" and parts.hostname not in _LOOPBACK_HOSTS | {"localhost"}:
        raise ValueError(f"plain http redirect URIs are allowed only on loopback: {uri!r}")
    return uri


def match_redirect_uri(registered: Iterable[str], requested: str) -> str | None:
    """Return ``requested`` if it matches a registered URI, else None.

    :param registered: the client's registered redirect URIs.
    :param requested: the ``redirect_uri`` parameter as sent.
    """
    if not _well_formed(requested):
        return None
    loopback = is_loopback(requested)
    for uri in registered:
        if uri == requested:
            return requested
        if loopback and is_loopback(uri) and _without_port(uri) == _without_port(requested):
            return requested
    return None


def add_query(uri: str, params: dict[str, str]) -> str:
    """Append ``params`` to the URI's query (keeping what it already has)."""
    parts = urlsplit(uri)
    extra = urlencode(params)
    query = f"{parts.query}&{extra}" if parts.query else extra
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))
