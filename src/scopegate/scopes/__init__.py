"""The scope model: the only place in scopegate that knows what a scope means.

Pure Python, no I/O beyond reading a catalog file. Server, guard and client all ask
this package; none of them compares scope strings by hand.
"""

from ._algebra import canonical_names, covers, missing, scope_set, scope_set_hash, union
from ._catalog import Catalog, ScopeDef
from ._claims import granted_from_claims, scopes_from_value
from ._errors import (
    BeyondRoleError,
    CatalogError,
    NoScopeRequestedError,
    ScopeError,
    ScopeNotAllowedError,
    ScopeSyntaxError,
    UnknownScopeError,
)
from ._grammar import (
    MAX_SCOPE_STRING_LENGTH,
    MAX_SCOPE_TOKEN_LENGTH,
    MAX_SCOPES,
    is_scope_token,
    parse_scope,
    validate_tokens,
)
from ._listing import MAX_LISTED_SCOPES, catalog_from_listing, public_implies, public_listing
from ._loader import catalog_from_mapping, default_catalog, load_catalog
from ._resources import resource_scopes, static_resources
from ._scope_set import ScopeSet, format_scope
from ._well_known import OFFLINE_ACCESS, OPENID, SIGN_IN_SCOPES, permission_scopes

__all__ = [
    "MAX_LISTED_SCOPES",
    "MAX_SCOPES",
    "MAX_SCOPE_STRING_LENGTH",
    "MAX_SCOPE_TOKEN_LENGTH",
    "OFFLINE_ACCESS",
    "OPENID",
    "SIGN_IN_SCOPES",
    "BeyondRoleError",
    "Catalog",
    "CatalogError",
    "NoScopeRequestedError",
    "ScopeDef",
    "ScopeError",
    "ScopeNotAllowedError",
    "ScopeSet",
    "ScopeSyntaxError",
    "UnknownScopeError",
    "canonical_names",
    "catalog_from_listing",
    "catalog_from_mapping",
    "covers",
    "default_catalog",
    "format_scope",
    "granted_from_claims",
    "is_scope_token",
    "load_catalog",
    "missing",
    "parse_scope",
    "permission_scopes",
    "public_implies",
    "public_listing",
    "resource_scopes",
    "scope_set",
    "scope_set_hash",
    "scopes_from_value",
    "static_resources",
    "union",
    "validate_tokens",
]
