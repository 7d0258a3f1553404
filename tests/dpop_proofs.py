"""DPoP proofs made with joserfc (not our code), for the server, guard and e2e tests."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from typing import Any

from joserfc import jwt
from joserfc.jwk import ECKey, OKPKey, RSAKey

__all__ = ["ath", "b64", "new_key", "proof", "thumbprint", "unsigned"]


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def new_key(alg: str = "ES256") -> Any:
    if alg == "ES256":
        return ECKey.generate_key("P-256")
    if alg == "EdDSA":
        return OKPKey.generate_key("Ed25519")
    return RSAKey.generate_key(2048)


def thumbprint(key: Any) -> str:
    return str(key.thumbprint())


def ath(access_token: str) -> str:
    return b64(hashlib.sha256(access_token.encode()).digest())


def proof(key: Any, method: str, url: str, *, access_token: str | None = None,
          alg: str = "ES256", typ: str = "dpop+jwt", jwk: dict[str, Any] | None = None,
          **claims: Any) -> str:
    """A proof signed by ``key`` (claims override the defaults; None drops one)."""
    body: dict[str, Any] = {"jti": secrets.token_urlsafe(12), "htm": method, "htu": url,
                            "iat": int(time.time())}
    if access_token is not None:
        body["ath"] = ath(access_token)
    body.update(claims)
    body = {k: v for k, v in body.items() if v is not None}
    header = {"alg": alg, "typ": typ, "jwk": jwk or key.as_dict(private=False)}
    return jwt.encode(header, body, key, algorithms=[alg])


def unsigned(header: dict[str, Any], claims: dict[str, Any], secret: bytes | None = None) -> str:
    """A proof with ``alg`` none (empty signature... which no verifier should take) or HS256."""
    head = b64(json.dumps(header).encode()) + "." + b64(json.dumps(claims).encode())
    if secret is None:
        return head + "." + b64(b"\0")
    return head + "." + b64(hmac.new(secret, head.encode(), hashlib.sha256).digest())
