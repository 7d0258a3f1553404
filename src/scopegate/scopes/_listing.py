"""The public listing of a catalog, and a catalog rebuilt from one.

The authorization server publishes :func:`public_listing` at ``GET /api/v1/scopes``;
an SDK that fetched it rebuilds an equivalent (public-only) catalog with
:func:`catalog_from_listing`, so it honours aliases and implication exactly as the
server does without ever seeing the server's catalog file. Listing shape::

    {"namespace": "scopegate",
     "scopes": [{"name": "apps:run", "description": "Run apps", "aliases": [],
                 "implies": ["apps:read"], "audience": "https://api.example"}, ...]}
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._catalog import Catalog
from ._errors import CatalogError
from ._loader import catalog_from_mapping

__all__ = ["MAX_LISTED_SCOPES", "catalog_from_listing", "public_implies", "public_listing"]

#: A listing with more scopes than this is refused (it comes over the network).
MAX_LISTED_SCOPES = 1024


def public_implies(catalog: Catalog, name: str) -> frozenset[str]:
    """Return the public scopes ``name`` implies directly, seen from outside.

    An internal scope is never named; what it implies is reached through it, so a
    public scope that implies a public one via an internal one still lists it.
    """
    out: set[str] = set()
    pending = list(catalog.get(name).implies)
    seen: set[str] = set()
    while pending:
        target = pending.pop()
        if target in seen:
            continue
        seen.add(target)
        scope = catalog.get(target)
        if scope.public:
            out.add(target)
        else:
            pending.extend(scope.implies)
    out.discard(name)
    return frozenset(out)


def public_listing(catalog: Catalog) -> dict[str, Any]:
    """Return the JSON-ready public view of a catalog: internal scopes never appear."""
    return {
        "namespace": catalog.namespace,
        "scopes": [
            {
                "name": scope.name,
                "description": scope.description,
                "aliases": list(scope.aliases),
                "implies": sorted(public_implies(catalog, scope.name)),
                "audience": scope.audience,
            }
            for scope in catalog.public()
        ],
    }


def catalog_from_listing(data: Mapping[str, Any], source: str = "<listing>") -> Catalog:
    """Build a catalog from a public listing (the body of ``GET /api/v1/scopes``).

    The shape is checked here; names, aliases, implication and cycles are checked by
    the same code that loads ``scopes.toml``. Members this version does not know are
    ignored, so a newer server's listing still loads.

    :param data: the decoded JSON object.
    :param source: where it came from (a URL), named in every error.
    :raises CatalogError: the listing is malformed; the message says where and why.
    """
    if not isinstance(data, Mapping):
        raise CatalogError(source, None, "the listing must be a JSON object")
    items = data.get("scopes")
    if not isinstance(items, list) or not items:
        raise CatalogError(source, None, "'scopes' must be a non-empty array")
    if len(items) > MAX_LISTED_SCOPES:
        raise CatalogError(source, None, f"more than {MAX_LISTED_SCOPES} scopes listed")
    tables: dict[str, dict[str, Any]] = {}
    for index, item in enumerate(items):
        name = item.get("name") if isinstance(item, Mapping) else None
        if not isinstance(name, str) or not name:
            raise CatalogError(source, None, f"scopes[{index}] must be an object with a 'name'")
        if name in tables:
            raise CatalogError(source, name, "listed twice")
        tables[name] = _scope_table(item, source, name)
    mapping: dict[str, Any] = {"scopes": tables}
    if "namespace" in data:
        mapping["namespace"] = data["namespace"]
    return catalog_from_mapping(mapping, source)


def _scope_table(item: Mapping[str, Any], source: str, name: str) -> dict[str, Any]:
    """Turn one listed scope into the ``[scopes."name"]`` table the loader validates."""
    table: dict[str, Any] = {"public": True}  # a listing holds public scopes only
    for key in ("description", "aliases", "implies"):
        if key in item:
            table[key] = item[key]
    implies = item.get("implies", [])
    if isinstance(implies, list) and any(isinstance(i, str) and "*" in i for i in implies):
        # The server resolves wildcards before listing; a star here is not a name.
        raise CatalogError(source, name, "'implies' must list scope names, not wildcards")
    audience = item.get("audience")
    if audience is not None:
        table["audience"] = audience
    return table
