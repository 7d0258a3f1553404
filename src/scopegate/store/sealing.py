"""Secrets at rest: AES-256-GCM under a key-encryption key (KEK) kept outside the database.

A sealed value is one ASCII string, ``sg-kek:v1:<kek id>:<base64url(nonce|ciphertext|tag)>``.
The KEK id names the key that sealed it, so several KEKs can be configured at once: the
first seals, every one opens (Ory Hydra's ``SECRETS_SYSTEM`` works the same way), which is
what lets a KEK be rotated. The associated data names the row (``signing_keys/<kid>/<alg>``,
``server_secrets/<name>``): a sealed value copied into another row does not open.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

__all__ = ["KEK_BYTES", "SEALED_PREFIX", "Kek", "KekRing", "SealError", "generate_kek",
           "is_sealed"]

KEK_BYTES = 32  # AES-256
SEALED_PREFIX = "sg-kek:v1:"
_NONCE_BYTES = 12  # the GCM standard; random nonces are safe for the few values we seal
_KEK_SPELLING = re.compile(r"[A-Za-z0-9+/_-]+={0,2}")
_HOW_TO_MAKE = "make one with `scopegate secrets generate-kek`"


class SealError(ValueError):
    """A KEK is malformed or missing, or a stored secret does not open with the KEKs given."""


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    """base64 or base64url, padded or not (``openssl rand -base64 32`` prints the former)."""
    if not _KEK_SPELLING.fullmatch(text):
        raise ValueError("not base64")
    unpadded = text.rstrip("=").replace("+", "-").replace("/", "_")
    return base64.urlsafe_b64decode(unpadded + "=" * (-len(unpadded) % 4))


def generate_kek() -> str:
    """A new random KEK, spelt as ``SCOPEGATE_KEK`` and a KEK file want it (base64url)."""
    return _b64url(os.urandom(KEK_BYTES))


def is_sealed(value: str) -> bool:
    """Whether a stored value is sealed (anything else was written in the clear)."""
    return value.startswith(SEALED_PREFIX)


@dataclass(frozen=True, slots=True)
class Kek:
    """One key-encryption key and its id (a hash of the key: safe to print and store)."""

    id: str
    aead: AESGCM

    @classmethod
    def from_text(cls, text: str, source: str) -> Kek:
        """Read one base64(url) KEK; ``source`` names where it came from in errors."""
        try:
            raw = _b64decode(text)
        except (ValueError, binascii.Error):
            raw = b""
        if len(raw) != KEK_BYTES:  # never echo the value: it may be a real key, mistyped
            raise SealError(f"{source} must be base64url of {KEK_BYTES} random bytes "
                            f"({_HOW_TO_MAKE})")
        digest = hashlib.sha256(b"scopegate kek id\0" + raw).digest()
        return cls(id=_b64url(digest[:9]), aead=AESGCM(raw))


class KekRing:
    """The configured KEKs: :attr:`primary` (the first) seals, any of them opens.

    :param keks: newest first.
    :param source: where they came from (``SCOPEGATE_KEK``, a file path), for errors.
    """

    def __init__(self, keks: Sequence[Kek], source: str) -> None:
        if not keks:
            raise SealError(f"{source} holds no key-encryption key ({_HOW_TO_MAKE})")
        self.primary = keks[0]
        self.source = source
        self._by_id = {kek.id: kek for kek in keks}

    @classmethod
    def parse(cls, text: str, source: str) -> KekRing:
        """KEKs separated by commas or newlines; blank lines and ``#`` comments skipped."""
        items = [item.strip() for line in text.splitlines() if not line.lstrip().startswith("#")
                 for item in line.split(",")]
        return cls([Kek.from_text(item, source) for item in items if item], source)

    @property
    def ids(self) -> tuple[str, ...]:
        """The KEK ids, the sealing one first."""
        return tuple(self._by_id)

    def seal(self, plaintext: str, row: str) -> str:
        """Encrypt ``plaintext`` for the row named ``row`` under the primary KEK."""
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self.primary.aead.encrypt(nonce, plaintext.encode(), row.encode())
        return f"{SEALED_PREFIX}{self.primary.id}:{_b64url(nonce + sealed)}"

    def sealed_by(self, value: str) -> str | None:
        """The id of the KEK that sealed ``value`` (None: it is in the clear)."""
        if not is_sealed(value):
            return None
        return value[len(SEALED_PREFIX):].partition(":")[0]

    def open(self, value: str, row: str) -> str:
        """Decrypt a value sealed for the row named ``row``.

        :raises SealError: it is in the clear, sealed by a KEK not configured, altered, or
            sealed for another row.
        """
        kek_id = self.sealed_by(value)
        if kek_id is None:
            raise SealError(f"{row} is stored in the clear; start the server once with a "
                            "key-encryption key to seal it")
        kek = self._by_id.get(kek_id)
        if kek is None:
            raise SealError(
                f"{row} is sealed by key-encryption key {kek_id}, which {self.source} does not "
                f"hold (it holds {', '.join(self.ids)}): set SCOPEGATE_KEK or "
                "SCOPEGATE_KEK_FILE to the key the database was sealed with")
        try:
            encoded = value.rpartition(":")[2]
            blob = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
            plain = kek.aead.decrypt(blob[:_NONCE_BYTES], blob[_NONCE_BYTES:], row.encode())
        except (InvalidTag, ValueError, binascii.Error):
            raise SealError(f"{row} does not open with key-encryption key {kek_id}: it was "
                            "altered or copied from another row") from None
        return plain.decode()
