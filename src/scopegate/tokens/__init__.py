"""Tokens: signing keys, fast JWS signing, the one access-token verifier, bearer
credentials, RFC 9068 claims, client secrets."""

from ._access import ACCESS_TOKEN_TYP, SUBJECT_TYPES, SubjectType, access_token_claims
from ._bearer import MAX_BEARER_LENGTH, check_bearer_token, parse_bearer
from ._dpop import (
    DPOP_ALGS,
    MAX_PROOF_LENGTH,
    DPoPProof,
    InvalidDPoPProof,
    UseDPoPNonce,
    access_token_hash,
    jwk_thumbprint,
    normalize_htu,
    verify_proof,
)
from ._dpop_state import NonceSource, ReplayCache, ReplayCacheUnavailable
from ._jws import (
    ACCESS_TOKEN_TYPES,
    SignedToken,
    TokenVerificationError,
    VerificationKey,
    read_access_token,
)
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
from ._verify import REQUIRED_CLAIMS, TokenVerifier

__all__ = [
    "ACCESS_TOKEN_TYP",
    "ACCESS_TOKEN_TYPES",
    "DPOP_ALGS",
    "ID_TOKEN_ALG",
    "KEY_ALGS",
    "MAX_BEARER_LENGTH",
    "MAX_PROOF_LENGTH",
    "REQUIRED_CLAIMS",
    "RSA_KEY_BITS",
    "SUBJECT_TYPES",
    "SUPPORTED_ALGS",
    "DPoPProof",
    "InvalidDPoPProof",
    "JwsSigner",
    "NonceSource",
    "PrivateKey",
    "ReplayCache",
    "ReplayCacheUnavailable",
    "SignedToken",
    "SigningKeyPair",
    "SubjectType",
    "TokenVerificationError",
    "TokenVerifier",
    "UseDPoPNonce",
    "VerificationKey",
    "access_token_claims",
    "access_token_hash",
    "b64url",
    "check_bearer_token",
    "generate_key",
    "hash_client_secret",
    "jwk_thumbprint",
    "new_client_id",
    "new_client_secret",
    "normalize_htu",
    "parse_bearer",
    "read_access_token",
    "verify_client_secret",
    "verify_proof",
]
