"""Signing keys and named server secrets."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from ..db import Database
from ..models import ServerSecret, SigningKey, utcnow

__all__ = ["KeyRecord", "SecretRepository", "SigningKeyRepository"]


@dataclass(frozen=True, slots=True)
class KeyRecord:
    """An immutable copy of a signing-key row."""

    kid: str
    alg: str
    private_pem: str
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

    def __init__(self, db: Database) -> None:
        self.db = db

    def add(self, kid: str, alg: str, private_pem: str) -> KeyRecord:
        """Store a new active key."""
        with self.db.session() as session:
            row = SigningKey(kid=kid, alg=alg, private_pem=private_pem)
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
            session.add_all(SigningKey(kid=kid, alg=alg, private_pem=pem)
                            for kid, alg, pem in new_keys)
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
    """Named random secrets generated once and shared by every process."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def get_or_create(self, name: str, nbytes: int = 32) -> str:
        """Return the secret ``name``, generating it on first use (race-safe)."""
        with self.db.session() as session:
            row = session.get(ServerSecret, name)
            if row is not None:
                return row.value
        try:
            with self.db.session() as session:
                value = secrets.token_urlsafe(nbytes)
                session.add(ServerSecret(name=name, value=value))
            return value
        except IntegrityError:
            # Another process created it between our read and our insert: use theirs.
            with self.db.session() as session:
                row = session.get(ServerSecret, name)
                assert row is not None
                return row.value
