"""The signing keys of a running server: the signers, the access-token verifier and JWKS.

Two kinds of key are active at once, each with its ``alg`` pinned: the access-token key
(ES256 or EdDSA, ``Settings.signing_alg``) and the RS256 key that signs only OpenID
Connect ID tokens (OIDC Discovery makes RS256 the alg every relying party supports).
Both are published in JWKS; only access-token keys reach the access-token verifier, so
a token signed with the RSA key is never accepted as an ``at+jwt``.
"""

from __future__ import annotations

from datetime import timedelta

import orjson

from ...store.repositories import KeyRecord, SigningKeyRepository
from ...tokens import ID_TOKEN_ALG, JwsSigner, SigningKeyPair, TokenVerifier, generate_key

__all__ = ["SigningKeys", "ensure_signing_key", "rotate_signing_key"]


def ensure_signing_key(repo: SigningKeyRepository, alg: str) -> None:
    """Generate and store whichever key kind has no active key yet (first start).

    :param alg: the access-token alg used when no access-token key is active.
    """
    active = {record.alg for record in repo.published() if record.active}
    if not active - {ID_TOKEN_ALG}:
        key = generate_key(alg)
        repo.add(key.kid, key.alg, key.private_pem())
    if ID_TOKEN_ALG not in active:
        key = generate_key(ID_TOKEN_ALG)
        repo.add(key.kid, key.alg, key.private_pem())


def rotate_signing_key(repo: SigningKeyRepository, alg: str, keep_published: timedelta) -> str:
    """Retire every active key, keep them in JWKS for ``keep_published``, add new ones.

    Both the access-token key (``alg``) and the RS256 ID-token key are replaced.
    ``keep_published`` must be at least the longest token lifetime, so tokens signed by
    the old keys still verify until they expire.

    :returns: the new access-token key id.
    """
    key = generate_key(alg)
    id_key = generate_key(ID_TOKEN_ALG)
    repo.rotate([(k.kid, k.alg, k.private_pem()) for k in (key, id_key)], keep_published)
    return key.kid


class SigningKeys:
    """Loaded keys: ``signer`` (access tokens), ``id_token_signer``, ``verifier``, JWKS."""

    def __init__(self, repo: SigningKeyRepository, issuer: str) -> None:
        self.repo = repo
        self.issuer = issuer
        self._opened: dict[tuple[str, str], SigningKeyPair] = {}
        self.signer: JwsSigner
        self.id_token_signer: JwsSigner
        self.verifier: TokenVerifier
        self.jwks: dict[str, list[dict[str, object]]]
        self.jwks_bytes: bytes
        self.reload()

    def _pair(self, record: KeyRecord) -> SigningKeyPair:
        """The key of ``record``, opened (decrypted) only the first time it is seen."""
        known = self._opened.get((record.kid, record.alg))
        if known is None:
            known = SigningKeyPair.from_pem(self.repo.private_pem(record), record.alg,
                                            record.kid)
        return known

    def reload(self) -> None:
        """Re-read keys from the store (after a rotation by another process).

        Keys already loaded are not opened again: a server keeps signing after the KEK
        was rotated under it, until it is restarted with the new KEK.
        """
        records = self.repo.published()
        pairs = [self._pair(r) for r in records]
        active = [p for p, r in zip(pairs, records, strict=True) if r.active]
        access_active = [p for p in active if p.alg != ID_TOKEN_ALG]
        id_active = [p for p in active if p.alg == ID_TOKEN_ALG]
        if not access_active or not id_active:
            raise RuntimeError("no active signing key; run `scopegate signing-keys rotate`")
        self.signer = JwsSigner(access_active[0])
        self.id_token_signer = JwsSigner(id_active[0])
        # The access-token verifier never sees the RSA key: alg stays pinned per key kind.
        self.verifier = TokenVerifier([p for p in pairs if p.alg != ID_TOKEN_ALG],
                                      self.issuer)
        self.jwks = {"keys": [p.public_jwk() for p in pairs]}
        self.jwks_bytes = orjson.dumps(self.jwks)
        self._opened = {(p.kid, p.alg): p for p in pairs}
