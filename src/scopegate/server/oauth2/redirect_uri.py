"""Redirect-URI rules: exact match, except the port of a loopback URI (RFC 8252 §7.3).

A native app listens on ``http://127.0.0.1:<any port>/path`` (or ``[::1]``), so for a
registered loopback URI only the port may differ. Everything else is compared as written,
never as parsed (RFC 9700 §4.1.3): the lowercase scheme ``http``, no userinfo, the host
spelled as registered, a port in 1..65535 in plain digits (no leading zero), the same path
and query. A parser would read ``http://evil.example@127.0.0.1:1/cb`` or ``HTTP://…`` as
the same loopback host and the server would then echo that spelling in ``Location``.
Every other URI must match the registered string exactly (RFC 6749 §3.1.2).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import urlencode, urlsplit, urlunsplit

__all__ = ["MAX_REDIRECT_URI_LENGTH", "add_query", "is_loopback", "match_redirect_uri",
           "validate_registered"]

MAX_REDIRECT_URI_LENGTH = 2000
_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1"})
# The only loopback spelling whose port may vary: scheme, literal host, optional plain
# port, then path and query as written (no userinfo, no fragment).
_LOOPBACK_SPELLING = re.compile(
    r"http://(?P<host>127\.0\.0\.1|\[::1\])(?::(?P<port>[1-9][0-9]{0,4}))?"
    r"(?P<rest>[/?][^#]*)?", re.ASCII)


def is_loopback(uri: str) -> bool:
    """Return whether ``uri`` is an ``http`` URI on the IPv4 or IPv6 loopback literal."""
    try:
        parts = urlsplit(uri)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return False
    return parts.scheme == "http" and parts.hostname in _LOOPBACK_HOSTS


def _without_port(uri: str) -> tuple[str, str] | None:
    """The loopback URI's host and path-and-query as written, or None if it is not one.

    None also for a port outside 1..65535 or spelled with a leading zero.
    """
    found = _LOOPBACK_SPELLING.fullmatch(uri)
    if found is None or (found["port"] is not None and int(found["port"]) > 65535):
        return None
    return found["host"], found["rest"] or ""


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
    loopback = _without_port(requested)
    for uri in registered:
        if uri == requested:
            return requested
        if loopback is not None and _without_port(uri) == loopback:
            return requested
    return None


def add_query(uri: str, params: dict[str, str]) -> str:
    """Append ``params`` to the URI's query (keeping what it already has)."""
    parts = urlsplit(uri)
    extra = urlencode(params)
    query = f"{parts.query}&{extra}" if parts.query else extra
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))
