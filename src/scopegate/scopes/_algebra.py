"""Set algebra on scope names, for callers that may or may not have a catalog (the SDK).

Without a catalog these functions compare names literally. Given one (the issuer's
public catalog, when the SDK fetched it) they ask :class:`~scopegate.scopes.Catalog`,
which honours aliases and implication exactly as the server decides. Names the catalog
does not know are always kept literally.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from ._catalog import Catalog

__all__ = ["canonical_names", "covers", "missing", "scope_set", "scope_set_hash", "union"]


def scope_set(scopes: Iterable[str]) -> frozenset[str]:
    """De-duplicate scopes into a frozen set, dropping empty names."""
    return frozenset(s for s in scopes if s)


def covers(granted: Iterable[str], required: Iterable[str],
           catalog: Catalog | None = None) -> bool:
    """Return whether ``granted`` covers every ``required`` scope (through ``catalog``)."""
    granted, required = scope_set(granted), scope_set(required)
    # A literal subset is covered under any catalog too: the cheap check goes first,
    # so a plain cache hit never pays for the implication closure.
    if required <= granted:
        return True
    return catalog is not None and catalog.covers(granted, required)


def missing(granted: Iterable[str], required: Iterable[str],
            catalog: Catalog | None = None) -> frozenset[str]:
    """Return the required scopes ``granted`` lacks (canonical names with a catalog)."""
    if catalog is None:
        return scope_set(required) - scope_set(granted)
    return catalog.missing(scope_set(granted), scope_set(required))


def canonical_names(names: Iterable[str], catalog: Catalog | None = None) -> frozenset[str]:
    """Return the names with known aliases made canonical; unknown names stay as they are."""
    found = scope_set(names)
    return found if catalog is None else catalog.canonicalize_keeping_unknown(found)


def union(*groups: Iterable[str]) -> frozenset[str]:
    """Return the union of several scope collections."""
    out: set[str] = set()
    for group in groups:
        out.update(s for s in group if s)
    return frozenset(out)


def scope_set_hash(scopes: Iterable[str]) -> str:
    """Return a stable hex digest of the sorted, de-duplicated scope set (a cache-key part)."""
    joined = " ".join(sorted(scope_set(scopes)))
    return hashlib.sha256(joined.encode()).hexdigest()[:32]
