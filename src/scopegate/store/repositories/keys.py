"""Signing keys and named server secrets, sealed under the key-encryption key.

The private keys and secrets never reach the database in the clear: each repository holds
the :class:`~scopegate.store.sealing.KekRing` and seals on the way in. Signing keys are
opened only when the key ring loads a key it has not seen (start-up, rotation), never per
request.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from ..db import Database
from ..models import ServerSecret, SigningKey, utcnow
from ..sealing import KekRing

__all__ = ["KeyRecord", "SecretRepository", "SigningKeyRepository", "secret_row",
           "signing_key_row"]


def signing_key_row(kid: str, alg: str) -> str:
    """The associated data of a sealed signing key: a key moved to another row won't open."""
    return f"signing_keys/{kid}/{alg}"


def secret_row(name: str) -> str:
    """The associated data of a sealed server secret."""
    return f"server_secrets/{name}"


@dataclass(frozen=True, slots=True)
class KeyRecord:
    """An immutable copy of a signing-key row."""

    kid: str
    alg: str
    sealed_pem: str
    created_at: datetime
    retired_at: datetime | None
    publish_until: datetime | None

    @property
    def active(self) -> bool:
        """Whether this key may sign (it is not retired)."""
        return self.retired_at is None


def _record(row: SigningKey) -> KeyRecord:
    return KeyRecord(row.kid, row.alg, row.private_pem, row.created_at, row.retired_at,
                     row.publish_until)


class SigningKeyRepository:
    """Signing-key rows: the active key, retired keys still published, rotation."""

    def __init__(self, db: Database, keks: KekRing) -> None:
        self.db = db
        self.keks = keks

    def _row(self, kid: str, alg: str, private_pem: str) -> SigningKey:
        sealed = self.keks.seal(private_pem, signing_key_row(kid, alg))
        return SigningKey(kid=kid, alg=alg, private_pem=sealed)

    def private_pem(self, record: KeyRecord) -> str:
        """Open the record's private key (PKCS#8 PEM).

        :raises SealError: the configured KEKs do not open it.
        """
        return self.keks.open(record.sealed_pem, signing_key_row(record.kid, record.alg))

    def add(self, kid: str, alg: str, private_pem: str) -> KeyRecord:
        """Store a new active key (sealed)."""
        with self.db.session() as session:
            row = self._row(kid, alg, private_pem)
            session.add(row)
            session.flush()
            return _record(row)

    def published(self, now: datetime | None = None) -> list[KeyRecord]:
        """Keys whose public half belongs in JWKS: active ones and retired ones not expired.

        Newest first, so the first active key is the one that signs.
        """
        now = now or utcnow()
        with self.db.session() as session:
            rows = session.scalars(sa.select(SigningKey).order_by(
                SigningKey.created_at.desc(), SigningKey.kid))
            return [_record(r) for r in rows
                    if r.retired_at is None or (r.publish_until is not None
                                                and r.publish_until > now)]

    def all(self) -> list[KeyRecord]:
        """Every key, newest first (for ``signing-keys list``)."""
        with self.db.session() as session:
            rows = session.scalars(sa.select(SigningKey).order_by(
                SigningKey.created_at.desc(), SigningKey.kid))
            return [_record(r) for r in rows]

    def rotate(self, new_keys: list[tuple[str, str, str]],
               keep_published_for: timedelta) -> list[str]:
        """Retire every active key and store ``new_keys`` in ONE transaction.

        Retired keys stay in JWKS for ``keep_published_for``; keys past that are deleted.
        A failure half-way leaves the old keys active: there is never a moment without
        an active signing key.

        :param new_keys: ``(kid, alg, private_pem)`` for each new active key.
        :returns: the retired key ids.
        """
        now = utcnow()
        with self.db.session() as session:
            rows = session.scalars(sa.select(SigningKey).where(SigningKey.retired_at.is_(None)))
            retired = []
            for row in rows:
                row.retired_at = now
                row.publish_until = now + keep_published_for
                retired.append(row.kid)
            session.add_all(self._row(kid, alg, pem) for kid, alg, pem in new_keys)
            session.execute(sa.delete(SigningKey).where(
                SigningKey.retired_at.is_not(None), SigningKey.publish_until <= now))
            return retired

    def prune(self, now: datetime | None = None) -> int:
        """Delete retired keys no longer published; return how many."""
        now = now or utcnow()
        with self.db.session() as session:
            result = session.execute(sa.delete(SigningKey).where(
                SigningKey.retired_at.is_not(None), SigningKey.publish_until <= now))
            return int(result.rowcount)  # type: ignore[attr-defined]


class SecretRepository:
    """Named random secrets generated once and shared by every process (stored sealed)."""

    def __init__(self, db: Database, keks: KekRing) -> None:
        self.db = db
        self.keks = keks

    def _stored(self, name: str) -> str | None:
        with self.db.session() as session:
            row = session.get(ServerSecret, name)
            return None if row is None else self.keks.open(row.value, secret_row(name))

    def get_or_create(self, name: str, nbytes: int = 32) -> str:
        """Return the secret ``name``, generating it on first use (race-safe).

        :raises SealError: the configured KEKs do not open the stored secret.
        """
        stored = self._stored(name)
        if stored is not None:
            return stored
        value = secrets.token_urlsafe(nbytes)
        try:
            with self.db.session() as session:
                session.add(ServerSecret(name=name, value=self.keks.seal(value, secret_row(name))))
            return value
        except IntegrityError:
            # Another process created it between our read and our insert: use theirs.
            theirs = self._stored(name)
            assert theirs is not None
            return theirs
