"""The checks every http(s) URL we store shares (resource identifiers, redirect URIs)."""

from __future__ import annotations

from urllib.parse import urlsplit

__all__ = ["http_url_problem"]


def http_url_problem(value: str, max_length: int, *, example: str = "") -> str | None:
    """Why ``value`` is not an absolute http(s) URL with a host and no user name or
    password, in words a person can act on, or None. Callers add their own rules."""
    if len(value) > max_length:
        return f"is longer than {max_length} characters"
    if any(c.isspace() or not c.isprintable() for c in value):
        return "contains a space or a control character"
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError on a port outside 0-65535
    except ValueError:
        return "has an invalid host or port"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"must be an absolute http(s) URL{example}"
    if parts.username is not None or parts.password is not None:
        return "must not carry a user name or password"
    return None
