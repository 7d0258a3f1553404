"""Scope names a protocol defines, so no catalog can rename them.

OpenID Connect Core 1.0 §3.1.2.1 (``openid``), §5.4 (``profile``, ``email``) and §11
(``offline_access``: ask for a refresh token).
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["OFFLINE_ACCESS", "OPENID", "SIGN_IN_SCOPES", "permission_scopes"]

OPENID = "openid"
OFFLINE_ACCESS = "offline_access"
#: What an interactive sign-in asks for besides the API's own scopes: who the user is,
#: their name and email, and a refresh token.
SIGN_IN_SCOPES: tuple[str, ...] = (OPENID, "profile", "email", OFFLINE_ACCESS)


def permission_scopes(names: Iterable[str]) -> frozenset[str]:
    """The names minus the sign-in ones: what an access token's own scopes must show.

    A server grants ``openid`` or ``offline_access`` as an ID token or a refresh token and
    need not list them in the access token's ``scope``, so a check that a token carries
    what was configured leaves them out.
    """
    return frozenset(n for n in names if n and n not in SIGN_IN_SCOPES)
