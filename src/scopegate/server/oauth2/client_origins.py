"""Which browser origins belong to registered clients: the origins of their redirect URIs.

A loopback redirect URI (RFC 8252 §7.3, its port may vary) allows its host on any port.
:mod:`scopegate.server.shared.cors` asks :class:`ClientOrigins` before answering a browser.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from urllib.parse import urlsplit

from ...store.repositories import ClientRecord
from ..shared.snapshot import Snapshot
from .redirect_uri import is_loopback

__all__ = ["ClientOrigins", "origins_of", "owns_origin"]


def _parts(url: str) -> tuple[str, str, int | None] | None:
    """(scheme, host as written in an origin, port) of an http(s) URL, or None."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return parts.scheme, host, port


def _origin(url: str) -> str | None:
    """``scheme://host[:port]`` of ``url`` (the default port left out), or None."""
    found = _parts(url)
    if found is None:
        return None
    scheme, host, port = found
    default = 443 if scheme == "https" else 80
    return f"{scheme}://{host}" + (f":{port}" if port and port != default else "")


def origins_of(redirect_uris: Iterable[str]) -> tuple[frozenset[str], frozenset[str]]:
    """The exact origins of ``redirect_uris``, and the loopback ones allowed on any port
    (as ``scheme://host``)."""
    exact: set[str] = set()
    any_port: set[str] = set()
    for uri in redirect_uris:
        found, origin = _parts(uri), _origin(uri)
        if found is None or origin is None:
            continue
        exact.add(origin)
        if is_loopback(uri):
            any_port.add(f"{found[0]}://{found[1]}")
    return frozenset(exact), frozenset(any_port)


def _allowed(origin: str, exact: frozenset[str], any_port: frozenset[str]) -> bool:
    if origin in exact:
        return True
    found = _parts(origin)
    return (found is not None and _origin(origin) == origin
            and f"{found[0]}://{found[1]}" in any_port)


class ClientOrigins:
    """The origins of every registered client's redirect URIs, read again after ``ttl``."""

    def __init__(self, load: Callable[[], Iterable[ClientRecord]], ttl: float) -> None:
        self.snapshot = Snapshot(
            lambda: origins_of(u for c in load() for u in c.redirect_uris), ttl,
            (frozenset[str](), frozenset[str]()))

    async def allows(self, origin: str) -> bool:
        """Whether ``origin`` is an origin of some registered client."""
        return _allowed(origin, *await self.snapshot.get())


def owns_origin(client: ClientRecord, origin: str) -> bool:
    """Whether ``origin`` is an origin of one of ``client``'s redirect URIs."""
    return _allowed(origin, *origins_of(client.redirect_uris))
