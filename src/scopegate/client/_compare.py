"""Scope comparisons with the issuer's catalog when the client has it, literally otherwise.

The SDK does not ship the server's catalog. When the issuer publishes its public
catalog (metadata member ``scope_catalog_endpoint``) the provider fetches it once and
these helpers ask :class:`~scopegate.scopes.Catalog` (aliases and implication, exactly
as the server decides); without it they fall back to the literal set algebra of
:mod:`scopegate.scopes`. Names the catalog does not know are always kept literally.
"""

from __future__ import annotations

from collections.abc import Iterable

from scopegate.scopes import Catalog, scope_set
from scopegate.scopes import covers as literal_covers
from scopegate.scopes import missing as literal_missing

__all__ = ["canonical", "covers", "missing"]


def covers(catalog: Catalog | None, granted: Iterable[str], required: Iterable[str]) -> bool:
    """Return whether ``granted`` covers every ``required`` scope."""
    granted, required = scope_set(granted), scope_set(required)
    # A literal subset is covered under any catalog too: the cheap check goes first,
    # so a plain cache hit never pays for the implication closure.
    if literal_covers(granted, required):
        return True
    return catalog is not None and catalog.covers(granted, required)


def missing(
    catalog: Catalog | None, granted: Iterable[str], required: Iterable[str]
) -> frozenset[str]:
    """Return the required scopes ``granted`` lacks (canonical names with a catalog)."""
    if catalog is None:
        return literal_missing(granted, required)
    return catalog.missing(scope_set(granted), scope_set(required))


def canonical(catalog: Catalog | None, names: Iterable[str]) -> frozenset[str]:
    """Return the names with aliases replaced by canonical names; unknown names stay."""
    names = scope_set(names)
    if catalog is None:
        return names
    known = frozenset(n for n in names if n in catalog)
    return catalog.canonicalize(known) | (names - known)
