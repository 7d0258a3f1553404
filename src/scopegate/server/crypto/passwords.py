"""Password hashing with argon2id (argon2-cffi's defaults, RFC 9106 profile)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

__all__ = ["MAX_PASSWORD_LENGTH", "MIN_PASSWORD_LENGTH", "hash_password", "needs_rehash",
           "verify_password", "verify_password_or_dummy"]

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 1024
_hasher = PasswordHasher()
# Verified against when the user does not exist, so a wrong email costs as much as a
# wrong password (no user enumeration by timing).
_DUMMY_HASH = _hasher.hash("scopegate-dummy-password")


def hash_password(password: str) -> str:
    """Return an argon2id hash of ``password``.

    :raises ValueError: the password is shorter than 8 or longer than 1024 characters.
    """
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        raise ValueError(
            f"password must be {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters")
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Return whether ``password`` matches the hash (constant time inside argon2)."""
    if len(password) > MAX_PASSWORD_LENGTH:
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def verify_password_or_dummy(password_hash: str | None, password: str) -> bool:
    """Like :func:`verify_password`, but spend the same time when there is no user."""
    if password_hash is None:
        verify_password(_DUMMY_HASH, password)
        return False
    return verify_password(password_hash, password)


def needs_rehash(password_hash: str) -> bool:
    """Return whether the hash uses weaker parameters than the current defaults."""
    return _hasher.check_needs_rehash(password_hash)
