"""Token signing keys: rotate them, list them.

Rotation replaces both active keys (the access-token key and the RS256 ID-token key) in
one transaction; the retired ones stay in JWKS long enough for every token they signed
to expire.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from ...events import changed
from ...store import Database
from ...store.repositories import KeyRecord, SigningKeyRepository
from ...store.sealing import KekRing
from ...tokens import ID_TOKEN_ALG, SUPPORTED_ALGS
from ..config.settings import Settings
from ..signing.signing_keys import rotate_signing_key
from .errors import Invalid
from .notify import notify

__all__ = ["Rotation", "checked_signing_alg", "list_signing_keys", "rotate_signing_keys"]

#: Extra time a retired key stays published beyond the longest token lifetime.
_PUBLISH_MARGIN_S = 300


@dataclass(frozen=True, slots=True)
class Rotation:
    """What a rotation did: the new keys and the ones it retired."""

    access: KeyRecord
    id_token: KeyRecord
    retired: list[KeyRecord]


def checked_signing_alg(alg: str) -> str:
    """``alg`` if tokens can be signed with it.

    :raises Invalid: naming the supported algorithms.
    """
    if alg not in SUPPORTED_ALGS:
        raise Invalid(f"alg must be one of {', '.join(SUPPORTED_ALGS)}")
    return alg


def rotate_signing_keys(db: Database, keks: KekRing, settings: Settings) -> Rotation:
    """Start signing with new keys; the old ones stay in JWKS until their tokens expire.

    :raises Invalid: ``settings.signing_alg`` is not a supported algorithm.
    """
    checked_signing_alg(settings.signing_alg)
    keep = timedelta(seconds=max(settings.access_token_ttl, settings.code_ttl)
                     + _PUBLISH_MARGIN_S)
    repo = SigningKeyRepository(db, keks)
    previous = {r.kid for r in repo.published() if r.active}
    access_kid = rotate_signing_key(repo, settings.signing_alg, keep)
    notify(db, changed("keys"))  # every replica reloads its keys now
    records = repo.all()
    active = [r for r in records if r.active]  # newest first
    return Rotation(next(r for r in active if r.kid == access_kid),
                    next(r for r in active if r.alg == ID_TOKEN_ALG),
                    [r for r in records if r.kid in previous])


def list_signing_keys(db: Database, keks: KekRing) -> list[KeyRecord]:
    """Every signing key: the active ones and retired ones still published."""
    return SigningKeyRepository(db, keks).all()
