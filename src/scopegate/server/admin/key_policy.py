"""The rules for an API key's scopes and lifetime: the key operations (:mod:`.keys`) and
the introspection of keys apply them; the guard never needs them.

Every scope question goes to the catalog:

- input accepts canonical names and aliases, as a ``scopes`` list or the legacy
  space-delimited ``scope`` string; storage holds canonical names only;
- only public scopes may be put on a key (``Catalog.non_public``);
- a key's scopes never exceed the access token that creates or rotates it
  (:func:`capped_by_token`: a token is delegation, never a way to widen it);
- a key's scopes never exceed its owner's role, at creation (refused, naming the excess)
  and at every use (:func:`effective_key_scopes` intersects with the role held *now*, so a
  demoted owner's keys shrink at once);
- ``<ns>:all`` (``Catalog.role_relative``) means everything the owner's role allows, judged
  at every use, so any role may put it on a key (seed 004, as in Coder); a token creating
  or rotating such a key must cover what it means for the owner now;
- an empty stored list (a key from before scopes) is read through
  ``Catalog.stored_key_scopes``, the one place that decides it means ``<ns>:all``;
- responses carry the canonical ``scopes`` list and the legacy ``scope`` string.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from ...errors import InvalidRequest, InvalidScope
from ...scopes import Catalog, ScopeError, format_scope

__all__ = [
    "DEFAULT_GRACE",
    "DEFAULT_LIFETIME",
    "MAX_GRACE",
    "MAX_LIFETIME",
    "capped_by_roles",
    "capped_by_token",
    "effective_key_scopes",
    "expiry",
    "parse_duration",
    "requested_key_scopes",
    "scope_fields",
]

DEFAULT_LIFETIME = timedelta(days=90)
MAX_LIFETIME = timedelta(days=366)
DEFAULT_GRACE = timedelta(hours=24)
MAX_GRACE = timedelta(days=7)

_DURATION = re.compile(r"(\d{1,9})\s*([smhdw]?)")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
# Far above every real limit (MAX_LIFETIME, MAX_GRACE) and far below what timedelta and
# datetime arithmetic can hold, so no client-chosen number can overflow them.
_LONGEST_SECONDS = 10 * 366 * 86400


def parse_duration(value: int | str, *, field: str = "duration") -> timedelta:
    """Read a duration given as seconds (``3600``) or with a unit (``"30d"``, ``"1h"``).

    Units: ``s``, ``m``, ``h``, ``d``, ``w``.

    :raises InvalidRequest: the value is not a non-negative duration of at most ten years.
    """
    if isinstance(value, bool):
        raise InvalidRequest(f"{field} must be seconds or a duration such as 30d")
    if isinstance(value, int):
        seconds = value
    elif isinstance(value, str) and (match := _DURATION.fullmatch(value.strip().lower())):
        seconds = int(match.group(1)) * _UNITS[match.group(2)]
    else:
        raise InvalidRequest(f"{field} must be seconds or a duration such as 30d, 12h, 15m")
    if seconds < 0:
        raise InvalidRequest(f"{field} must not be negative")
    if seconds > _LONGEST_SECONDS:
        raise InvalidRequest(f"{field} is longer than ten years")
    return timedelta(seconds=seconds)


def expiry(
    now: datetime,
    *,
    expires_in: int | str | None = None,
    expires_at: datetime | None = None,
) -> datetime:
    """Return when a new key expires: ``now + expires_in``, ``expires_at``, or the default.

    :raises InvalidRequest: both are given, the time is past, naive, or beyond the maximum.
    """
    if expires_in is not None and expires_at is not None:
        raise InvalidRequest("send either expires_in or expires_at, not both")
    if expires_at is not None:
        if expires_at.tzinfo is None:
            raise InvalidRequest("expires_at must carry a timezone, e.g. 2030-01-01T00:00:00Z")
        when = expires_at
    elif expires_in is not None:
        when = now + parse_duration(expires_in, field="expires_in")
    else:
        when = now + DEFAULT_LIFETIME
    if when <= now + timedelta(seconds=59):
        raise InvalidRequest("a key must live at least one minute")
    if when > now + MAX_LIFETIME:
        raise InvalidRequest(f"a key may live at most {MAX_LIFETIME.days} days")
    return when


def requested_key_scopes(
    catalog: Catalog,
    *,
    scopes: Sequence[str] | None = None,
    scope: str | None = None,
) -> frozenset[str]:
    """Canonical, public scopes from a ``scopes`` list or the legacy ``scope`` string.

    Neither given keeps the pre-scopes meaning (``Catalog.stored_key_scopes`` of nothing);
    an explicit empty list is refused rather than silently meaning everything.

    :raises InvalidRequest: both fields, or an empty list.
    :raises InvalidScope: a malformed, unknown or internal scope (all named at once).
    """
    if scopes is not None and scope is not None:
        raise InvalidRequest("send either scopes (a list) or the legacy scope, not both")
    try:
        if scopes is not None:
            if not scopes:
                raise InvalidRequest("scopes must name at least one scope")
            wanted = catalog.parse_list(scopes)
        elif scope is not None:
            wanted = catalog.parse(scope)
            if not wanted:
                raise InvalidRequest("scope must name at least one scope")
        else:
            wanted = catalog.stored_key_scopes(())
        internal = catalog.non_public(wanted)
    except ScopeError as exc:
        raise InvalidScope(str(exc)) from None
    if internal:
        raise InvalidScope("scope(s) not available to API keys: " + ", ".join(sorted(internal)))
    return wanted


def capped_by_roles(catalog: Catalog, wanted: Iterable[str], roles: Iterable[str]) -> None:
    """Refuse scopes that any of the owner's roles does not cover.

    :raises InvalidScope: naming every scope beyond the role.
    """
    wanted = frozenset(wanted)
    fixed = wanted - catalog.role_relative(wanted)  # "all" follows the role at each use
    for role in roles:
        try:
            catalog.cap(fixed, role)
        except ScopeError as exc:
            raise InvalidScope(str(exc)) from None


def capped_by_token(catalog: Catalog, wanted: Iterable[str], granted: Iterable[str]) -> None:
    """Refuse key scopes that the access token's own scopes do not cover.

    :raises InvalidScope: naming every scope beyond the token.
    """
    beyond = catalog.missing(granted, wanted)
    if beyond:
        raise InvalidScope("scope(s) beyond your access token (ask for them when you get "
                           "it): " + ", ".join(sorted(beyond)))


def effective_key_scopes(
    catalog: Catalog, stored: Iterable[str], roles: Iterable[str]
) -> frozenset[str]:
    """What a key may do now: its stored scopes intersected with each role's scopes.

    The intersection goes both ways through implication: a key scope the role covers is
    kept; a key scope wider than the role gives way to the role scopes it covers (so
    ``<ns>:all`` on a member's key means everything a member may do, no more).
    """
    held = catalog.stored_key_scopes(stored)
    for role in roles:
        held = catalog.intersect(held, catalog.role_scopes(role))
    return held


def scope_fields(catalog: Catalog, stored: Iterable[str]) -> dict[str, Any]:
    """The response fields: canonical ``scopes`` list and the legacy ``scope`` string."""
    canonical = catalog.stored_key_scopes(stored)
    return {"scopes": sorted(canonical), "scope": format_scope(catalog.legacy_names(canonical))}
