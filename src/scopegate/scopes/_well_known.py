"""Scope names a protocol defines, so no catalog can rename them.

OpenID Connect Core 1.0 §3.1.2.1 (``openid``), §5.4 (``profile``, ``email``) and §11
(``offline_access``: ask for a refresh token).
"""

from __future__ import annotations

__all__ = ["OFFLINE_ACCESS", "OPENID", "SIGN_IN_SCOPES"]

OPENID = "openid"
OFFLINE_ACCESS = "offline_access"
#: What an interactive sign-in asks for besides the API's own scopes: who the user is,
#: their name and email, and a refresh token.
SIGN_IN_SCOPES: tuple[str, ...] = (OPENID, "profile", "email", OFFLINE_ACCESS)
