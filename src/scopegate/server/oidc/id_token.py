"""OpenID Connect ID tokens (OIDC Core §2, §3.1.3.6) and the claims ``/userinfo`` shows.

An ID token is signed with the key ring's RS256 key (header ``typ: JWT``), the alg OIDC
Discovery requires every provider to offer and the default for a client that registered
none; access tokens keep their own ES256/EdDSA key. ``aud`` is the client id, ``nonce``
is echoed, and ``at_hash`` is the left half of the access token's hash (SHA-256 for RS256
and ES256, SHA-512 for EdDSA).
"""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ...scopes import Catalog
from ...store.repositories.users import UserRecord
from ...tokens import ID_TOKEN_ALG

if TYPE_CHECKING:
    from ..oauth2.issuance import Issued, ResponseHook
    from ..state import ServerState

__all__ = [
    "CLAIMS_SUPPORTED",
    "ID_TOKEN_SIGNING_ALGS",
    "ID_TOKEN_TYP",
    "at_hash",
    "id_token_hook",
    "userinfo_claims",
]

ID_TOKEN_TYP = "JWT"
# What discovery advertises: only algs an ID token can actually carry. Clients have no
# registered ``id_token_signed_response_alg`` yet, so every ID token is RS256.
ID_TOKEN_SIGNING_ALGS: tuple[str, ...] = (ID_TOKEN_ALG,)
CLAIMS_SUPPORTED: tuple[str, ...] = (
    "sub", "iss", "aud", "exp", "iat", "auth_time", "acr", "nonce", "at_hash", "azp",
    "name", "email", "email_verified", "sid",
)


def at_hash(access_token: str, alg: str) -> str:
    """The ``at_hash`` of an access token for a signing ``alg`` (OIDC Core §3.1.3.6)."""
    digest = (hashlib.sha512 if alg == "EdDSA" else hashlib.sha256)(
        access_token.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest[: len(digest) // 2]).rstrip(b"=").decode("ascii")


def userinfo_claims(catalog: Catalog, user: UserRecord, scopes: frozenset[str]
                    ) -> dict[str, Any]:
    """The claims a token with ``scopes`` may read about ``user`` (OIDC Core §5.4)."""
    claims: dict[str, Any] = {"sub": user.id}
    if catalog.covers(scopes, ["profile"]):
        claims["name"] = user.name or user.email.split("@", 1)[0]
    if catalog.covers(scopes, ["email"]):
        claims["email"] = user.email
        claims["email_verified"] = False  # scopegate does not verify addresses
    return claims


def id_token_hook(state: ServerState) -> ResponseHook:
    """Build the response hook that adds ``id_token`` when a user grant covers ``openid``."""
    catalog = state.catalog

    async def add_id_token(issued: Issued) -> Mapping[str, Any]:
        grant = issued.user_grant
        if grant is None or not catalog.covers(issued.scopes, ["openid"]):
            return {}
        signer = state.signing_keys.id_token_signer
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": state.settings.issuer,
            "sub": issued.subject,
            "aud": issued.client.client_id,
            "azp": issued.client.client_id,
            "exp": now + state.settings.access_token_ttl,
            "iat": now,
            "auth_time": grant.auth_time,
            "at_hash": at_hash(issued.access_token, signer.alg),
        }
        if grant.nonce:
            claims["nonce"] = grant.nonce
        if "acr" in issued.claims:
            claims["acr"] = issued.claims["acr"]
        if grant.session_id:  # OIDC front- and back-channel logout name the session by it
            claims["sid"] = grant.session_id
        return {"id_token": signer.sign(claims, typ=ID_TOKEN_TYP)}

    return add_id_token
