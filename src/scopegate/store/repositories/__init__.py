"""Repositories: the only code that queries tables; they return frozen records."""

from .clients import ClientRecord, ClientRepository
from .keys import KeyRecord, SecretRepository, SigningKeyRepository
from .revocations import RevocationRepository
from .sealed_secrets import StoredSecrets

__all__ = [
    "ClientRecord",
    "ClientRepository",
    "KeyRecord",
    "RevocationRepository",
    "SecretRepository",
    "SigningKeyRepository",
    "StoredSecrets",
]
