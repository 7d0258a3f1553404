"""Tokens: signing keys, fast JWS signing, verification, RFC 9068 claims, client secrets."""

from ._access import ACCESS_TOKEN_TYP, SubjectType, access_token_claims
from ._keys import (
    ID_TOKEN_ALG,
    KEY_ALGS,
    RSA_KEY_BITS,
    SUPPORTED_ALGS,
    PrivateKey,
    SigningKeyPair,
    b64url,
    generate_key,
)
from ._secrets import (
    hash_client_secret,
    new_client_id,
    new_client_secret,
    verify_client_secret,
)
from ._signer import JwsSigner
from ._verify import TokenVerificationError, TokenVerifier

__all__ = [
    "ACCESS_TOKEN_TYP",
    "ID_TOKEN_ALG",
    "KEY_ALGS",
    "RSA_KEY_BITS",
    "SUPPORTED_ALGS",
    "JwsSigner",
    "PrivateKey",
    "SigningKeyPair",
    "SubjectType",
    "TokenVerificationError",
    "TokenVerifier",
    "access_token_claims",
    "b64url",
    "generate_key",
    "hash_client_secret",
    "new_client_id",
    "new_client_secret",
    "verify_client_secret",
]
