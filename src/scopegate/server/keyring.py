"""The signing keys of a running server: the active signer, the verifier and JWKS."""

from __future__ import annotations

from datetime import timedelta

import orjson

from ..store.repositories import SigningKeyRepository
from ..tokens import JwsSigner, SigningKeyPair, TokenVerifier, generate_key

__all__ = ["KeyRing", "ensure_signing_key", "rotate_signing_key"]


def ensure_signing_key(repo: SigningKeyRepository, alg: str) -> None:
    """Generate and store a key when none is active (first start)."""
    if not any(key.active for key in repo.published()):
        key = generate_key(alg)
        repo.add(key.kid, key.alg, key.private_pem())


def rotate_signing_key(repo: SigningKeyRepository, alg: str, keep_published: timedelta) -> str:
    """Retire the active key(s), keep them in JWKS for ``keep_published``, add a new one.

    ``keep_published`` must be at least the longest token lifetime, so tokens signed by
    the old key still verify until they expire.

    :returns: the new key id.
    """
    key = generate_key(alg)
    repo.retire_active(keep_published)
    repo.add(key.kid, key.alg, key.private_pem())
    repo.prune()
    return key.kid


class KeyRing:
    """Loaded keys: ``signer`` (newest active key), ``verifier`` and ``jwks`` bytes."""

    def __init__(self, repo: SigningKeyRepository, issuer: str) -> None:
        self.repo = repo
        self.issuer = issuer
        self.signer: JwsSigner
        self.verifier: TokenVerifier
        self.jwks: dict[str, list[dict[str, object]]]
        self.jwks_bytes: bytes
        self.reload()

    def reload(self) -> None:
        """Re-read keys from the store (after a rotation by another process)."""
        records = self.repo.published()
        pairs = [SigningKeyPair.from_pem(r.private_pem, r.alg, r.kid) for r in records]
        active = [p for p, r in zip(pairs, records, strict=True) if r.active]
        if not active:
            raise RuntimeError("no active signing key; run `scopegate signing-keys rotate`")
        self.signer = JwsSigner(active[0])
        self.verifier = TokenVerifier(pairs, self.issuer)
        self.jwks = {"keys": [p.public_jwk() for p in pairs]}
        self.jwks_bytes = orjson.dumps(self.jwks)
