"""Which ``aud`` a token gets: the resources a request names (RFC 8707), checked against
the client's scopes and the registered resources, or the default audience of its scopes."""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple
from urllib.parse import urlsplit

from ...errors import InvalidScope, InvalidTarget
from ...scopes import Catalog, resource_scopes
from .resources import Resource

__all__ = ["Target", "registered_target", "resolve_audience"]


class Target(NamedTuple):
    """A token's ``aud`` and the scopes it carries for that audience."""

    audience: tuple[str, ...]
    scopes: frozenset[str]


def _valid_resource(value: str) -> bool:
    # RFC 8707 §2: an absolute URI without a fragment.
    try:
        parts = urlsplit(value)
    except ValueError:  # e.g. an unclosed IPv6 host, "http://[::1"
        return False
    return bool(parts.scheme and (parts.netloc or parts.path)) and "#" not in value


def resolve_audience(
    catalog: Catalog,
    issuer: str,
    allowed_scopes: Iterable[str],
    scopes: Iterable[str],
    resources: Iterable[str] = (),
    companions: Iterable[str] = (),
) -> tuple[str, ...]:
    """The token ``aud``: one resource, then the companion audiences its scopes target.

    RFC 8707 with node-oidc-provider's and Auth0's rule, one resource per access token:
    ``resource`` picks it among those the allowed scopes target; without it, the scopes
    must target exactly one resource. A companion (the issuer's UserInfo, targeted by
    ``openid``) rides along with any resource; a token whose scopes target nothing is
    for the issuer.

    :raises InvalidTarget: a resource is malformed, not permitted, more than one is
        asked for, or none is and the scopes target several.
    """
    scopes = frozenset(scopes)
    extras = tuple(companions)
    targeted = catalog.audiences(scopes)
    riders = tuple(a for a in targeted if a in extras)
    wanted = tuple(dict.fromkeys(resources))
    if len(wanted) > 1:
        raise InvalidTarget("send one resource parameter: an access token serves one "
                            "resource; a refresh token can then get a token for each other")
    if wanted:
        resource = wanted[0]
        if not _valid_resource(resource):
            raise InvalidTarget("resource must be an absolute URI without a fragment")
        if resource not in catalog.all_audiences():
            raise InvalidTarget(f"no resource server {resource[:200]!r} is registered here")
        if resource not in catalog.audiences(catalog.expand(allowed_scopes)):
            raise InvalidTarget(f"this client may not request tokens for {resource[:200]!r}")
        return (resource, *(a for a in riders if a != resource))
    primary = [a for a in targeted if a not in extras]
    if len(primary) > 1:
        raise InvalidTarget(_ambiguous(catalog, scopes, primary))
    return (*primary, *riders) or (issuer,)


def _ambiguous(catalog: Catalog, scopes: frozenset[str], resources: list[str]) -> str:
    """The sentence telling the client what to send (the scope list last: it may be cut)."""
    which = "; ".join(
        f"{r}: " + " ".join(sorted(s for s in scopes if r in catalog.audiences([s])))
        for r in resources)
    return ("send " + " or ".join(f"resource={r}" for r in resources)
            + ": these scopes are for several resources and an access token serves one; "
            f"a refresh token can then get a token for each ({which})")


def registered_target(catalog: Catalog, resource: Resource, permitted: Iterable[str],
                      scopes: Iterable[str], companions: Iterable[str] = ()) -> Target:
    """The token for a registered resource: ``aud`` is its identifier (plus the companion
    audiences its scopes target), its scopes those of ``scopes`` that it offers.

    :raises InvalidTarget: the client may use none of the scopes the resource offers.
    :raises InvalidScope: none of the requested scopes is offered by the resource.
    """
    name = resource.identifier[:200]
    offered = " ".join(sorted(resource.scopes))
    if not resource_scopes(catalog, permitted, resource.scopes):
        raise InvalidTarget(f"this client may not request tokens for {name!r}: none of "
                            f"the scopes it offers ({offered}) is one this client may use "
                            "here")
    riders = tuple(companions)
    granted = resource_scopes(catalog, scopes, resource.scopes, riders)
    if not resource_scopes(catalog, granted, resource.scopes):
        raise InvalidScope(f"none of the requested scopes is offered by {name!r}; "
                           f"it offers: {offered}")
    along = tuple(a for a in catalog.audiences(granted) if a in riders)
    return Target((resource.identifier, *along), granted)
