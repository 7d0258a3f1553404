"""The resource-server guard: one pipeline per route in front of an API.

Framework adapters live in :mod:`scopegate.guard.adapters` (``starlette``, ``fastapi``,
``flask``) and are imported explicitly, so this package needs none of those frameworks.
It never imports the authorization server or the store.
"""

from .audience import AUDIENCE_MISSING, sdk_product
from .audit import AUDIT_LOGGER, emit_audit
from .authenticate import Authenticator
from .cache import AuthCache
from .callers import AccountCaller, ApiKeyCaller, Caller, ServiceCaller
from .config import AudienceMode, GuardConfig, RateLimit
from .context import AuthContext, GuardContext, RequestInfo, TokenKind
from .declaration import Declaration, declaration_of, public, requires
from .errors import UpstreamUnavailable
from .exchange import ExchangedToken, ExchangeFailed, TokenExchanger
from .guard import Guard, parse_bearer
from .introspection import IntrospectionClient
from .jwks import JWKSCache, SigningKey
from .pipeline import Pipeline
from .routes import RouteEntry, list_routes
from .steps import (
    BearerCheck,
    CallerMount,
    ResourceAuthz,
    ResourceResolver,
    ScopeCheck,
    Step,
    WorkspaceMembershipCheck,
    default_caller,
)
from .user_auth import InsufficientUserAuthentication, UserAuthRequirement

__all__ = [
    "AUDIENCE_MISSING",
    "AUDIT_LOGGER",
    "AccountCaller",
    "ApiKeyCaller",
    "AudienceMode",
    "AuthCache",
    "AuthContext",
    "Authenticator",
    "BearerCheck",
    "Caller",
    "CallerMount",
    "Declaration",
    "ExchangeFailed",
    "ExchangedToken",
    "Guard",
    "GuardConfig",
    "GuardContext",
    "InsufficientUserAuthentication",
    "IntrospectionClient",
    "JWKSCache",
    "Pipeline",
    "RateLimit",
    "RequestInfo",
    "ResourceAuthz",
    "ResourceResolver",
    "RouteEntry",
    "ScopeCheck",
    "ServiceCaller",
    "SigningKey",
    "Step",
    "TokenExchanger",
    "TokenKind",
    "UpstreamUnavailable",
    "UserAuthRequirement",
    "WorkspaceMembershipCheck",
    "declaration_of",
    "default_caller",
    "emit_audit",
    "list_routes",
    "parse_bearer",
    "public",
    "requires",
    "sdk_product",
]
