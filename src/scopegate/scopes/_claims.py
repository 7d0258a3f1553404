"""Read the scopes a token grants from its claims or token response.

Issuers disagree on the shape: RFC 9068 / RFC 8693 use a space-delimited ``scope``
string, Azure AD and Okta use ``scp`` (a string or an array), others emit arrays.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["granted_from_claims", "scopes_from_value"]


def scopes_from_value(value: Any) -> frozenset[str] | None:
    """Read a ``scope``/``scp`` value: a space-delimited string or a list of strings.

    Returns None when the value has no recognisable shape.
    """
    if isinstance(value, str):
        return frozenset(part for part in value.split() if part)
    if isinstance(value, list | tuple):
        out: set[str] = set()
        for item in value:
            if not isinstance(item, str):
                return None
            out.update(part for part in item.split() if part)
        return frozenset(out)
    return None


def granted_from_claims(claims: Mapping[str, Any]) -> frozenset[str] | None:
    """Return the scopes in ``scope`` and/or ``scp``, or None when neither claim is usable."""
    found: set[str] = set()
    seen_any = False
    for name in ("scope", "scp"):
        if name in claims:
            parsed = scopes_from_value(claims[name])
            if parsed is not None:
                seen_any = True
                found |= parsed
    return frozenset(found) if seen_any else None
