"""RFC 9728 protected-resource metadata, and the challenges that point to it.

A client that knows only the API's URL reads ``/.well-known/oauth-protected-resource``
(path-suffixed for an API under a path, §3.1: ``https://api.example/mcp`` publishes at
``/.well-known/oauth-protected-resource/mcp``) to learn which authorization server and
scopes to use. Every Bearer challenge names that document (``resource_metadata``, §5.1),
and a 401 also names the scopes the route needs (the MCP authorization spec's scope
selection), so a client knows what to ask for before its first token.

The document describes the app's declared routes, so it is built once, on its first
request, after every route exists. Errors only gain these parameters on their way out:
a request that passes pays nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from urllib.parse import urlsplit

from scopegate.errors import OAuthError
from scopegate.scopes import Catalog, format_scope
from scopegate.tokens import DPOP_ALGS

from .config import GuardConfig
from .routes import RouteEntry

__all__ = ["METADATA_HEADERS", "PREFLIGHT_HEADERS", "WELL_KNOWN", "ProtectedResource",
           "metadata_url"]

WELL_KNOWN = "/.well-known/oauth-protected-resource"
#: Public facts about the API: any origin may read them (browser MCP clients, Swagger UI),
#: and a client may keep them a few minutes.
METADATA_HEADERS = {
    "Content-Type": "application/json",
    "Cache-Control": "public, max-age=300",
    "Access-Control-Allow-Origin": "*",
}
PREFLIGHT_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, OPTIONS",
    "Access-Control-Allow-Headers": "*",
    "Access-Control-Max-Age": "86400",
}


def metadata_url(resource: str | None) -> str | None:
    """The RFC 9728 §3.1 metadata URL of an http(s) resource identifier, else None."""
    if not resource:
        return None
    parts = urlsplit(resource)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    path = parts.path.rstrip("/")
    query = f"?{parts.query}" if parts.query else ""
    return f"{parts.scheme}://{parts.netloc}{WELL_KNOWN}{path}{query}"


class ProtectedResource:
    """What the guard publishes about its API, and how its challenges point there.

    :param config: ``audience`` is the resource identifier; ``issuer`` its one
        authorization server; ``resource_name`` and ``resource_documentation`` optional.
    :param catalog: canonical scope names, and which of them are public.
    """

    def __init__(self, config: GuardConfig, catalog: Catalog) -> None:
        self.config = config
        self.catalog = catalog
        self.url = metadata_url(config.audience)
        self.paths: frozenset[str] = frozenset()
        if self.url is not None:
            suffixed = urlsplit(self.url).path
            self.paths = frozenset({WELL_KNOWN, suffixed})
        self._body: bytes | None = None

    def body(self, routes: Iterable[RouteEntry]) -> bytes:
        """The JSON document for the app whose ``routes`` are given (built once)."""
        if self._body is None:
            self._body = json.dumps(self.document(routes)).encode()
        return self._body

    def document(self, routes: Iterable[RouteEntry]) -> dict[str, object]:
        """RFC 9728 §2 members: the scopes are the union of the routes' public ones."""
        public = {s.name for s in self.catalog.public()}
        declared: set[str] = set()
        for route in routes:
            if route.declaration is not None and not route.declaration.public:
                declared |= self.catalog.canonicalize_keeping_unknown(route.declaration.scopes)
        document: dict[str, object] = {
            "resource": self.config.audience,
            "authorization_servers": [self.config.issuer],
            "scopes_supported": sorted(declared & public),
            "bearer_methods_supported": ["header"],
            "dpop_signing_alg_values_supported": list(DPOP_ALGS),  # RFC 9728 §2, RFC 9449
        }
        if self.config.resource_name:
            document["resource_name"] = self.config.resource_name
        if self.config.resource_documentation:
            document["resource_documentation"] = self.config.resource_documentation
        return document

    def challenge(self, exc: OAuthError, required: frozenset[str]) -> OAuthError:
        """Add ``resource_metadata`` to a Bearer challenge, and to a 401 the route's scopes.

        An ``insufficient_scope`` 403 already names every scope the route needs.
        """
        header = exc.headers.get("WWW-Authenticate")
        if (self.url is None or header is None or not header.startswith("Bearer")
                or "resource_metadata=" in header):
            return exc
        quoted = self.url.replace("\\", "\\\\").replace('"', '\\"')
        params = [f'resource_metadata="{quoted}"']
        if exc.status_code == 401 and required and " scope=" not in header:
            params.append(f'scope="{format_scope(required)}"')
        separator = ", " if header != "Bearer" else " "
        exc.headers["WWW-Authenticate"] = header + separator + ", ".join(params)
        return exc
