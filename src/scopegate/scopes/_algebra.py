"""Plain set algebra on scope names, for callers that have no catalog (e.g. SDK caches).

These functions compare names literally. Code that has the catalog uses
:class:`~scopegate.scopes.Catalog`, whose methods also honour aliases and implication.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

__all__ = ["covers", "missing", "scope_set", "scope_set_hash", "union"]


def scope_set(scopes: Iterable[str]) -> frozenset[str]:
    """De-duplicate scopes into a frozen set, dropping empty names."""
    return frozenset(s for s in scopes if s)


def covers(granted: Iterable[str], required: Iterable[str]) -> bool:
    """Return whether every required name is among the granted names."""
    return scope_set(required) <= scope_set(granted)


def missing(granted: Iterable[str], required: Iterable[str]) -> frozenset[str]:
    """Return the required names that are not granted."""
    return scope_set(required) - scope_set(granted)


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
