"""What a resource server offers, and what a token for it may carry.

A resource (RFC 8707) offers some scopes: a catalog audience offers the scopes that name
it; a registered resource the scopes its operator listed. A token for one resource
carries only scopes that resource offers (node-oidc-provider's ``getResourceServerInfo``
rule), plus scopes of the companion audiences that ride along with any resource (the
issuer's UserInfo for ``openid``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from ._catalog import Catalog

__all__ = ["resource_scopes", "static_resources"]


def static_resources(catalog: Catalog) -> Mapping[str, frozenset[str]]:
    """Each audience the catalog names, with the canonical scopes that target it."""
    offered: dict[str, set[str]] = {}
    for scope in catalog:
        if scope.audience:
            offered.setdefault(scope.audience, set()).add(scope.name)
    return {audience: frozenset(names) for audience, names in sorted(offered.items())}


def resource_scopes(catalog: Catalog, requested: Iterable[str], offered: Iterable[str],
                    riders: Iterable[str] = ()) -> frozenset[str]:
    """The scopes a token for a resource carries: those of ``requested`` it ``offered``.

    Implication counts both ways, as :meth:`Catalog.intersect`: a requested scope wider
    than the offer (``scopegate:all``) gives way to the offered scopes it covers; an
    offered scope wider than the request is never granted whole. Requested scopes that
    target a ``riders`` audience are kept too.

    :param riders: audiences that ride along with any resource (e.g. UserInfo).
    """
    requested = frozenset(requested)
    kept = catalog.intersect(requested, offered)
    along = frozenset(riders)
    if along:
        kept |= {s for s in requested if along.intersection(catalog.audiences([s]))}
    return kept
