"""Grants handled at the token endpoint, one module each."""

from .base import (
    COMMON_PARAMS,
    GRANT_TYPE_URN_PREFIX,
    KNOWN_GRANT_TYPES,
    Grant,
    GrantRegistry,
    normalize_grant_type,
)

__all__ = [
    "COMMON_PARAMS",
    "GRANT_TYPE_URN_PREFIX",
    "KNOWN_GRANT_TYPES",
    "Grant",
    "GrantRegistry",
    "normalize_grant_type",
]
