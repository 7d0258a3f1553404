"""How a consent page names a client: as it registered (RFC 7591 ``client_name``,
``logo_uri``, ``client_uri``, ``policy_uri``, ``tos_uri``).

Registration already refuses other URLs; this checks them again at display time (a
metadata document or an older row may hold anything), so only an https URL, or http on
a loopback host, ever reaches an ``href`` or ``src``. The template escapes the rest.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from ..shared.urls import http_url_problem

__all__ = ["ClientInfo", "client_info", "display_url", "image_source"]

MAX_URL = 2048
_NOT_IN_URLS = frozenset('"<>\\^`{|}')  # RFC 3986 has no place for them (escaping is kept too)
_LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})
# A DNS name or IPv4 address: nothing that could end a CSP source or directive.
_HOST = re.compile(r"[a-z0-9](?:[a-z0-9.-]{0,251}[a-z0-9])?")
_LINKS = (("client_uri", "Home page"), ("policy_uri", "Privacy policy"),
          ("tos_uri", "Terms of service"))


@dataclass(frozen=True, slots=True)
class ClientInfo:
    """What the page shows: the name, an optional logo, and (label, url) links."""

    name: str
    logo: str | None
    links: tuple[tuple[str, str], ...]

    @property
    def home(self) -> str | None:
        """The client's home page, where an error page sends the person back to."""
        return next((url for label, url in self.links if label == "Home page"), None)


def display_url(value: Any) -> str | None:
    """``value`` if it is safe to link to (https, or http on loopback), else None."""
    if (not isinstance(value, str) or http_url_problem(value, MAX_URL) is not None
            or any(c in _NOT_IN_URLS for c in value)):
        return None
    parts = urlsplit(value)
    host = parts.hostname or ""
    if not (_HOST.fullmatch(host) or host == "::1"):
        return None
    if parts.scheme == "https" or host in _LOOPBACK:
        return value
    return None


def client_info(name: str, metadata: Mapping[str, Any]) -> ClientInfo:
    """The display form of a client named ``name`` with its stored RFC 7591 metadata."""
    links = tuple((label, url) for member, label in _LINKS
                  if (url := display_url(metadata.get(member))) is not None)
    return ClientInfo(name, display_url(metadata.get("logo_uri")), links)


def image_source(url: str | None) -> str:
    """The CSP ``img-src`` that lets the page load exactly this logo (or nothing)."""
    parts = urlsplit(url or "")
    if url is None or not _HOST.fullmatch(parts.hostname or ""):
        return "'none'"  # CSP has no syntax for an IPv6 literal: the alt text shows
    return f"{parts.scheme}://{parts.hostname}" + (f":{parts.port}" if parts.port else "")
