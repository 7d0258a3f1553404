"""Create, list, rotate, revoke and verify API keys; callers get frozen records
(:mod:`.api_key_records`).

Verification is the hot path: the checksum is checked first (no store read for a typo),
then one primary-key read by the public key id joined with the owner, then a
constant-time hash comparison. ``last_used_at`` is written at most once per interval per
key, with a conditional UPDATE so several server replicas never write it twice.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ...scopes import ScopeSet
from ...tokens.api_keys import (
    DEFAULT_PREFIX,
    MalformedApiKey,
    generate_api_key,
    hash_matches,
    parse_api_key,
    validate_prefix,
)
from ..db import Database
from ..models.api_keys import ApiKey
from ..models.base import utcnow
from ..models.users import Membership, User, Workspace
from .api_key_records import (
    ApiKeyError,
    ApiKeyNotFound,
    ApiKeyRecord,
    KeyStatus,
    VerifiedApiKey,
)

__all__ = [
    "MAX_ACTIVE_KEYS_PER_USER",
    "ApiKeyError",
    "ApiKeyNotFound",
    "ApiKeyRecord",
    "ApiKeyRepository",
    "KeyStatus",
    "VerifiedApiKey",
]

MAX_ACTIVE_KEYS_PER_USER = 100


class ApiKeyRepository:
    """API key rows in one :class:`Database`.

    :param prefix: the deployment's key prefix for new keys (``Settings.api_key_prefix``).
    :param last_used_interval: ``last_used_at`` is written at most this often per key.
    :param clock: returns the current UTC time (tests move it).
    """

    def __init__(
        self,
        db: Database,
        *,
        prefix: str = DEFAULT_PREFIX,
        last_used_interval: timedelta = timedelta(minutes=1),
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.db = db
        self.prefix = validate_prefix(prefix)
        self.last_used_interval = last_used_interval
        self.clock = clock

    # -- owners ------------------------------------------------------------------------

    def owner_by_email(self, email: str) -> tuple[str, str] | None:
        """Return ``(user id, role)`` of the user with this email, or None."""
        with self.db.session() as session:
            found = session.execute(
                sa.select(User.id, User.role).where(User.email == email)).first()
        return (found[0], found[1]) if found else None

    def owner_role(self, user_id: str) -> str | None:
        """Return the user's role, or None when the user does not exist."""
        with self.db.session() as session:
            return session.scalar(sa.select(User.role).where(User.id == user_id))

    def workspace_role(self, user_id: str, workspace: str) -> tuple[str, str] | None:
        """Return ``(workspace id, role)`` for a member, by workspace id or name; else None."""
        with self.db.session() as session:
            found = session.execute(
                sa.select(Workspace.id, Membership.role)
                .join(Membership, Membership.workspace_id == Workspace.id)
                .where(Membership.user_id == user_id,
                       sa.or_(Workspace.id == workspace, Workspace.name == workspace))
            ).first()
        return (found[0], found[1]) if found else None

    # -- lifecycle ---------------------------------------------------------------------

    def create(
        self,
        *,
        user_id: str,
        name: str,
        scopes: Iterable[str],
        expires_at: datetime | None,
        workspace_id: str | None = None,
    ) -> tuple[ApiKeyRecord, str]:
        """Store a new key and return its record and the key string (show it once).

        ``scopes`` must already be canonical and checked against the owner's role.
        """
        new = generate_api_key(self.prefix)
        with self.db.session() as session:
            active = session.scalar(
                sa.select(sa.func.count()).select_from(ApiKey).where(
                    ApiKey.user_id == user_id, ApiKey.revoked_at.is_(None)))
            if (active or 0) >= MAX_ACTIVE_KEYS_PER_USER:
                raise ApiKeyError(
                    f"at most {MAX_ACTIVE_KEYS_PER_USER} keys per user: revoke one first")
            row = ApiKey(
                id=new.key_id, user_id=user_id, workspace_id=workspace_id,
                name=name or f"key {new.key_id}", prefix=self.prefix, key_hash=new.key_hash,
                scopes=ScopeSet(scopes).to_list(), created_at=self.clock(), expires_at=expires_at,
            )
            session.add(row)
            session.flush()
            return ApiKeyRecord.from_row(row), new.key

    def get(self, key_id: str, *, user_id: str | None = None) -> ApiKeyRecord:
        """Return one key (only if owned by ``user_id`` when given)."""
        with self.db.session() as session:
            return ApiKeyRecord.from_row(self._row(session, key_id, user_id))

    def list(self, *, user_id: str | None = None) -> list[ApiKeyRecord]:
        """Every key (of one user when given), newest first."""
        query = sa.select(ApiKey).order_by(ApiKey.created_at.desc(), ApiKey.id)
        if user_id is not None:
            query = query.where(ApiKey.user_id == user_id)
        with self.db.session() as session:
            return [ApiKeyRecord.from_row(row) for row in session.scalars(query)]

    def revoke(self, key_id: str, *, user_id: str | None = None) -> ApiKeyRecord:
        """Revoke a key and any rotated-out secret at once (idempotent)."""
        with self.db.session() as session:
            row = self._row(session, key_id, user_id)
            if row.revoked_at is None:
                row.revoked_at = self.clock()
            row.previous_hash = None
            row.previous_expires_at = None
            return ApiKeyRecord.from_row(row)

    def narrow(self, key_id: str, scopes: Iterable[str], retire_at: datetime
               ) -> tuple[ApiKeyRecord, str]:
        """Replace an active key by a new one with ``scopes`` (same owner, workspace, name
        and expiry); the old one expires at ``retire_at`` (a grace period). One transaction.
        Returns the new record and its key string (show it once)."""
        new = generate_api_key(self.prefix)
        with self.db.session() as session:
            old = self._row(session, key_id, None)
            status = ApiKeyRecord.from_row(old).status(self.clock())
            if status != "active":
                raise ApiKeyError(f"cannot narrow a key that is {status}")
            row = ApiKey(id=new.key_id, user_id=old.user_id, workspace_id=old.workspace_id,
                         name=old.name, prefix=old.prefix, key_hash=new.key_hash,
                         scopes=ScopeSet(scopes).to_list(), created_at=self.clock(),
                         expires_at=old.expires_at)
            session.add(row)
            if old.expires_at is None or old.expires_at > retire_at:
                old.expires_at = retire_at
            session.flush()
            return ApiKeyRecord.from_row(row), new.key

    def rotate(
        self, key_id: str, *, grace: timedelta, user_id: str | None = None
    ) -> tuple[ApiKeyRecord, str]:
        """Give a key a new secret; the current one keeps working for ``grace``.

        A secret still in an earlier grace period stops working now: at most two secrets
        are ever valid. Returns the record and the new key string (show it once).
        """
        now = self.clock()
        with self.db.session() as session:
            row = self._row(session, key_id, user_id)
            status = ApiKeyRecord.from_row(row).status(now)
            if status != "active":
                raise ApiKeyError(f"cannot rotate a key that is {status}")
            new = generate_api_key(row.prefix, key_id=row.id)
            if grace > timedelta(0):
                row.previous_hash, row.previous_expires_at = row.key_hash, now + grace
            else:
                row.previous_hash, row.previous_expires_at = None, None
            row.key_hash = new.key_hash
            row.rotated_at = now
            return ApiKeyRecord.from_row(row), new.key

    def prune_rotated(self, now: datetime | None = None, limit: int | None = None) -> int:
        """Forget rotated-out secrets whose grace period is over; return how many keys.

        They no longer verify anyway; clearing the hash means a leaked old key cannot be
        matched even if a clock goes wrong. ``limit`` caps the keys changed in one call.
        """
        now = now or self.clock()
        done = sa.select(ApiKey.id).where(ApiKey.previous_expires_at <= now)
        if limit is not None:
            done = done.limit(limit)
        with self.db.session() as session:
            result = session.execute(
                sa.update(ApiKey).where(ApiKey.id.in_(done))
                .values(previous_hash=None, previous_expires_at=None)
                .execution_options(synchronize_session=False))
            return int(result.rowcount)  # type: ignore[attr-defined]

    # -- verification ------------------------------------------------------------------

    def verify(self, key: str) -> VerifiedApiKey | None:
        """Return the key's record if ``key`` is valid now, else None.

        A malformed key or a bad checksum returns None before any store read.
        """
        try:
            parts = parse_api_key(key)
        except MalformedApiKey:
            return None
        now = self.clock()
        with self.db.session() as session:
            found = session.execute(
                sa.select(ApiKey, User.role, Membership.role)
                .join(User, User.id == ApiKey.user_id)
                .outerjoin(Membership, sa.and_(Membership.user_id == ApiKey.user_id,
                                               Membership.workspace_id == ApiKey.workspace_id))
                .where(ApiKey.id == parts.key_id)
            ).first()
            if found is None:
                return None
            row, owner_role, workspace_role = found
            matched_previous = False
            if not hash_matches(key, row.key_hash):
                in_grace = (row.previous_hash is not None and row.previous_expires_at is not None
                            and row.previous_expires_at > now)
                if not (in_grace and hash_matches(key, row.previous_hash or "")):
                    return None
                matched_previous = True
            record = ApiKeyRecord.from_row(row)
            if record.status(now) != "active":
                return None
            if row.workspace_id is not None and workspace_role is None:
                return None  # the owner left the workspace: the key goes with them
            if record.last_used_at is None or now - record.last_used_at >= self.last_used_interval:
                self._touch(session, row.id, now)
        return VerifiedApiKey(record=record, owner_role=owner_role,
                              workspace_role=workspace_role, matched_previous=matched_previous)

    def _touch(self, session: Session, key_id: str, now: datetime) -> None:
        # Conditional so that concurrent replicas write at most once per interval.
        cutoff = now - self.last_used_interval
        session.execute(
            sa.update(ApiKey)
            .where(ApiKey.id == key_id,
                   sa.or_(ApiKey.last_used_at.is_(None), ApiKey.last_used_at <= cutoff))
            .values(last_used_at=now)
        )

    # -- helpers -----------------------------------------------------------------------

    @staticmethod
    def _row(session: Session, key_id: str, user_id: str | None) -> ApiKey:
        row = session.get(ApiKey, key_id) if len(key_id) <= 16 else None
        if row is None or (user_id is not None and row.user_id != user_id):
            raise ApiKeyNotFound(f"no API key {key_id[:16]!r}")
        return row
