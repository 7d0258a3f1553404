"""DPoP for the SDK (RFC 9449): one key per issuer and client, a proof per request.

The private key lives where the tokens live (:mod:`._stores`: the OS keyring, else the
0600 file, or memory), as one more entry of the same document, so a bound token is never
stored without the key that makes it usable, and never anywhere the tokens are not. The
key is ES256 (P-256), the algorithm every DPoP server supports. Server nonces (RFC 9449
§8-9) are kept per origin, in memory: one for the authorization server, one per API.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
import urllib.parse
from collections.abc import Mapping
from typing import Any

import jwt

from ._challenges import parse_challenges
from ._stores import Document, TokenStore

__all__ = ["DPOP_KEY_ENTRY", "DPoPKey", "DPoPSigner", "use_dpop_nonce"]

DPOP_KEY_ENTRY = "dpop-key:"  # + "issuer|client_id": the store entry holding the key
_ALG = "ES256"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _origin(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


def _htu(url: str) -> str:
    """The URL without query and fragment (RFC 9449 §4.2)."""
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


class DPoPKey:
    """An ES256 key pair that signs DPoP proofs (``cryptography`` needed: ``scopegate[guard]``).

    :param private_key: a P-256 ``cryptography`` private key.
    """

    def __init__(self, private_key: Any) -> None:
        numbers = private_key.public_key().public_numbers()
        self.private_key = private_key
        self.jwk = {"kty": "EC", "crv": "P-256",
                    "x": _b64url(numbers.x.to_bytes(32, "big")),
                    "y": _b64url(numbers.y.to_bytes(32, "big"))}
        # RFC 7638 §3: the required members, sorted, no whitespace
        canonical = json.dumps(self.jwk, sort_keys=True, separators=(",", ":"))
        self.jkt = _b64url(hashlib.sha256(canonical.encode()).digest())

    @classmethod
    def generate(cls) -> DPoPKey:
        """A fresh P-256 key."""
        try:
            from cryptography.hazmat.primitives.asymmetric import ec
        except ImportError:  # the bare SDK has no cryptography: say which extra brings it
            raise ImportError("DPoP needs the cryptography package: "
                              "pip install 'scopegate[guard]'") from None
        return cls(ec.generate_private_key(ec.SECP256R1()))

    @classmethod
    def from_pem(cls, pem: str) -> DPoPKey:
        """Load the PKCS#8 PEM :meth:`pem` wrote."""
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ec

        key = serialization.load_pem_private_key(pem.encode(), password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
            raise ValueError("a DPoP key is a P-256 private key")
        return cls(key)

    def pem(self) -> str:
        """The private key as unencrypted PKCS#8 PEM (only ever written to the token store)."""
        from cryptography.hazmat.primitives import serialization

        pem: bytes = self.private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption())
        return pem.decode("ascii")

    def proof(self, method: str, url: str, *, access_token: str | None = None,
              nonce: str | None = None, now: float | None = None) -> str:
        """One DPoP proof JWT for this request (RFC 9449 §4.2), with ``ath`` for a token."""
        claims: dict[str, Any] = {"jti": secrets.token_urlsafe(16), "htm": method.upper(),
                                  "htu": _htu(url), "iat": int(time.time() if now is None
                                                                else now)}
        if access_token is not None:
            claims["ath"] = _b64url(hashlib.sha256(access_token.encode("ascii")).digest())
        if nonce is not None:
            claims["nonce"] = nonce
        return jwt.encode(claims, self.private_key, algorithm=_ALG,
                          headers={"typ": "dpop+jwt", "jwk": self.jwk})


class DPoPSigner:
    """The session's DPoP key (loaded from or saved to the token store on first use) and
    the nonces servers gave.

    :param store: the token store the key is kept in, next to the tokens.
    :param issuer: with ``client_id``, names the key's entry.
    """

    def __init__(self, store: TokenStore, issuer: str, client_id: str) -> None:
        self.store = store
        self.entry = f"{DPOP_KEY_ENTRY}{issuer}|{client_id}"
        self._key: DPoPKey | None = None
        self._nonces: dict[str, str] = {}
        self._lock = threading.Lock()

    @property
    def key(self) -> DPoPKey:
        """The key: the stored one, else a new one saved first (one per issuer and client)."""
        if self._key is None:
            with self._lock:
                if self._key is None:
                    self._key = self._load_or_create()
        return self._key

    def _load_or_create(self) -> DPoPKey:
        stored = self.store.load().get(self.entry, {}).get("private_key_pem")
        if isinstance(stored, str):
            return DPoPKey.from_pem(stored)
        created: list[DPoPKey] = []

        def change(doc: Document) -> None:  # another process may have saved one meanwhile
            found = doc.get(self.entry, {}).get("private_key_pem")
            key = DPoPKey.from_pem(found) if isinstance(found, str) else DPoPKey.generate()
            doc[self.entry] = {"private_key_pem": key.pem(), "alg": _ALG}
            created.append(key)

        self.store.update(change)
        return created[0]

    def proof(self, method: str, url: str, access_token: str | None = None) -> str:
        """A proof for this request, with the nonce its server gave last, if any."""
        return self.key.proof(method, url, access_token=access_token,
                              nonce=self._nonces.get(_origin(url)))

    def remember_nonce(self, url: str, headers: Mapping[str, str]) -> bool:
        """Keep the ``DPoP-Nonce`` a server sent (RFC 9449 §8.2); True if it is new."""
        nonce = headers.get("dpop-nonce")
        if not nonce or len(nonce) > 512:
            return False
        origin = _origin(url)
        new = self._nonces.get(origin) != nonce
        self._nonces[origin] = nonce
        return new


def use_dpop_nonce(status: int, headers: Any, body: Mapping[str, Any] | None = None) -> bool:
    """Whether an answer asks for the proof again with its nonce (RFC 9449 §8, §9): a token
    endpoint's ``use_dpop_nonce`` error, or an API's 401 ``DPoP`` challenge saying so."""
    if "dpop-nonce" not in headers:
        return False
    if body is not None:
        return body.get("error") == "use_dpop_nonce"
    if status != 401:
        return False
    values = (headers.get_list("www-authenticate") if hasattr(headers, "get_list")
              else [headers.get("www-authenticate", "")])
    return any(scheme == "dpop" and params.get("error") == "use_dpop_nonce"
               for scheme, params in parse_challenges(values))


def authorize(request: Any, token: Any, signer: DPoPSigner | None) -> None:
    """Set ``Authorization`` (and ``DPoP``) on an httpx or requests request for ``token``:
    a DPoP-bound token goes with a fresh proof, any other as ``Bearer``."""
    if signer is not None and token.token_type == "DPoP":
        request.headers["Authorization"] = f"DPoP {token.access_token}"
        request.headers["DPoP"] = signer.proof(request.method, str(request.url),
                                               token.access_token)
    else:
        request.headers["Authorization"] = f"Bearer {token.access_token}"
        request.headers.pop("DPoP", None)


def dpop_nonce_retry(request: Any, response: Any, token: Any,
                     signer: DPoPSigner | None) -> bool:
    """Keep an API's ``DPoP-Nonce``; True (with a new proof on ``request``) when its answer
    asks for the proof again with it (RFC 9449 §9): then send once more."""
    if signer is None or token.token_type != "DPoP":
        return False
    url = str(request.url)
    signer.remember_nonce(url, response.headers)
    if not use_dpop_nonce(response.status_code, response.headers):
        return False
    authorize(request, token, signer)
    return True
