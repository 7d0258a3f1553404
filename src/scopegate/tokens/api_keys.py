"""API key format: ``<prefix>_<key id><secret>_<checksum>``, hashing and verification.

A key looks like ``sg_4fT9aQ2mZk3xY8pLw0RbNc7dVh5sJ1eGu6iKo2tHq9_2b8XkA``:

- ``prefix`` (``sg`` by default, configurable per deployment) tells secret scanners and
  humans what the string is;
- the 42 base62 characters after it are random: the first 10 are the public **key id**
  (the lookup id shown in listings, never secret), the last 32 are the secret
  (32 * log2(62), about 190 bits, over the 160-bit floor);
- ``checksum`` is the CRC32 of ``<prefix>_<random>`` in 6 fixed-width base62 characters, so
  a typo or a truncated paste is rejected by :func:`checksum_ok` before any store read
  (the same scheme as GitHub's ``ghp_`` tokens).

Only :func:`hash_api_key` (SHA-256 of the full key) is ever stored; the key itself is
shown once. 190 random bits need no slow hash: nobody can brute-force the preimage.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import zlib
from dataclasses import dataclass

__all__ = [
    "BASE62_ALPHABET",
    "CHECKSUM_LENGTH",
    "DEFAULT_PREFIX",
    "KEY_ID_LENGTH",
    "MAX_API_KEY_LENGTH",
    "SECRET_LENGTH",
    "ApiKeyParts",
    "MalformedApiKey",
    "NewApiKey",
    "checksum_ok",
    "compute_checksum",
    "generate_api_key",
    "hash_api_key",
    "hash_matches",
    "parse_api_key",
    "validate_prefix",
]

BASE62_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
DEFAULT_PREFIX = "sg"
KEY_ID_LENGTH = 10
SECRET_LENGTH = 32
CHECKSUM_LENGTH = 6  # 62**6 > 2**32: every CRC32 fits
MAX_PREFIX_LENGTH = 16
MAX_API_KEY_LENGTH = MAX_PREFIX_LENGTH + 2 + KEY_ID_LENGTH + SECRET_LENGTH + CHECKSUM_LENGTH

_PREFIX = re.compile(r"[a-z][a-z0-9]{0,15}")
_KEY = re.compile(
    rf"(?P<prefix>[a-z][a-z0-9]{{0,15}})_"
    rf"(?P<key_id>[0-9A-Za-z]{{{KEY_ID_LENGTH}}})(?P<secret>[0-9A-Za-z]{{{SECRET_LENGTH}}})_"
    rf"(?P<checksum>[0-9A-Za-z]{{{CHECKSUM_LENGTH}}})"
)


class MalformedApiKey(ValueError):
    """A string is not a well-formed API key (wrong shape, prefix or checksum)."""


@dataclass(frozen=True, slots=True)
class ApiKeyParts:
    """The pieces of a parsed key; ``key_id`` is public, ``secret`` is not."""

    prefix: str
    key_id: str
    secret: str
    checksum: str


@dataclass(frozen=True, slots=True)
class NewApiKey:
    """A freshly generated key: show ``key`` once, store ``key_id`` and ``key_hash``."""

    key: str
    key_id: str
    key_hash: str

    def __repr__(self) -> str:  # never let the secret reach a log line
        return f"NewApiKey(key_id={self.key_id!r}, key=<hidden>)"


def validate_prefix(prefix: str) -> str:
    """Return ``prefix`` if it is 1-16 lower-case letters/digits starting with a letter."""
    if not _PREFIX.fullmatch(prefix):
        raise ValueError(
            f"API key prefix must be 1-16 lower-case letters or digits starting with a letter,"
            f" not {prefix[:20]!r}"
        )
    return prefix


def _base62(value: int, width: int) -> str:
    chars = []
    for _ in range(width):
        value, digit = divmod(value, 62)
        chars.append(BASE62_ALPHABET[digit])
    return "".join(reversed(chars))


def _random_base62(length: int) -> str:
    # secrets.choice draws uniformly: no modulo bias.
    return "".join(secrets.choice(BASE62_ALPHABET) for _ in range(length))


def compute_checksum(prefix: str, random_part: str) -> str:
    """Return the 6-character base62 CRC32 of ``<prefix>_<random_part>``."""
    crc = zlib.crc32(f"{prefix}_{random_part}".encode("ascii"))
    return _base62(crc, CHECKSUM_LENGTH)


def hash_api_key(key: str) -> str:
    """Return the hex SHA-256 of the full key: the only form that is stored."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def hash_matches(key: str, stored_hash: str) -> bool:
    """Compare the key's hash with a stored hash in constant time."""
    return hmac.compare_digest(hash_api_key(key).encode("ascii"), stored_hash.encode("ascii"))


def generate_api_key(prefix: str = DEFAULT_PREFIX, *, key_id: str | None = None) -> NewApiKey:
    """Generate a new key; pass ``key_id`` to rotate the secret of an existing key.

    :param prefix: the deployment's key prefix (``Settings.api_key_prefix``).
    :param key_id: keep this public id (rotation); a new random one when None.
    """
    validate_prefix(prefix)
    if key_id is None:
        key_id = _random_base62(KEY_ID_LENGTH)
    elif len(key_id) != KEY_ID_LENGTH or any(c not in BASE62_ALPHABET for c in key_id):
        raise ValueError("key_id must be 10 base62 characters")
    random_part = key_id + _random_base62(SECRET_LENGTH)
    key = f"{prefix}_{random_part}_{compute_checksum(prefix, random_part)}"
    return NewApiKey(key=key, key_id=key_id, key_hash=hash_api_key(key))


def parse_api_key(key: str, *, prefix: str | None = None) -> ApiKeyParts:
    """Split a key into its parts after checking shape, prefix and checksum.

    :param prefix: when given, the key must carry exactly this prefix.
    :raises MalformedApiKey: the string is not a valid key (no store is consulted).
    """
    if not isinstance(key, str) or len(key) > MAX_API_KEY_LENGTH:
        raise MalformedApiKey("not an API key")
    match = _KEY.fullmatch(key)
    if match is None:
        raise MalformedApiKey("not an API key")
    parts = ApiKeyParts(**match.groupdict())
    if prefix is not None and parts.prefix != prefix:
        raise MalformedApiKey("API key prefix does not belong to this server")
    expected = compute_checksum(parts.prefix, parts.key_id + parts.secret)
    if parts.checksum != expected:
        raise MalformedApiKey("API key checksum mismatch (typo or truncated key)")
    return parts


def checksum_ok(key: str, *, prefix: str | None = None) -> bool:
    """Return whether ``key`` is well formed with a valid checksum (pure, no store read)."""
    try:
        parse_api_key(key, prefix=prefix)
    except MalformedApiKey:
        return False
    return True
