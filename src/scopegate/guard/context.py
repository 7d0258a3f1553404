"""The two context objects: the cached auth context of a token and the per-request one."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from .callers import Caller

__all__ = ["AuthContext", "GuardContext", "RequestInfo", "TokenKind"]


class TokenKind(StrEnum):
    """How a token was verified."""

    JWT = "jwt"
    OPAQUE = "access_token"
    API_KEY = "api_key"


@dataclass(slots=True)
class AuthContext:
    """What one verified token means; cached by token hash until ``cached_until``.

    Holds everything a cache hit needs so that it does no signature check and no call to
    the authorization server: verified claims, expanded scopes, the audience verdict and
    the workspace-membership verdicts learnt so far.
    """

    token_hash: str
    kind: TokenKind
    claims: Mapping[str, Any]
    subject: str
    client_id: str
    subject_type: str
    scopes: frozenset[str]
    audience_ok: bool
    expires_at: float
    cached_until: float
    workspace: str | None = None
    revocation_keys: tuple[str, ...] = ()  # what the deny-list keys on (guard/revocation.py)
    issued_at: float = 0.0
    dpop_jkt: str | None = None  # the key a DPoP-bound token is bound to (``cnf.jkt``)
    membership: dict[str, bool] = field(default_factory=dict)
    scope_verdicts: dict[frozenset[str], bool] = field(default_factory=dict)
    callers: dict[Any, Caller] = field(default_factory=dict)


class RequestInfo:
    """The parts of an HTTP request the guard looks at, framework-neutral.

    A plain slotted class (not a frozen dataclass): it is built on every request.
    """

    __slots__ = ("client_ip", "dpop", "method", "path", "path_params", "route", "user_agent")

    def __init__(self, method: str, path: str, route: str, client_ip: str | None = None,
                 user_agent: str | None = None,
                 path_params: Mapping[str, Any] | None = None, dpop: Any = None) -> None:
        self.method = method
        self.path = path
        self.route = route
        self.client_ip = client_ip
        self.user_agent = user_agent
        self.path_params: Mapping[str, Any] = path_params if path_params is not None else {}
        self.dpop = dpop  # how the token was presented (guard/dpop.py ``Presentation``)

    def __repr__(self) -> str:
        return f"RequestInfo({self.method} {self.path} route={self.route!r})"


class GuardContext:
    """One request's journey through the pipeline; each step reads and fills it.

    :param request: the framework-neutral request description.
    :param token: the raw bearer token, or None when the request has none.
    :param required: the canonical scopes the route declared.
    """

    __slots__ = (
        "auth",
        "caller",
        "extra",
        "native",
        "request",
        "required",
        "resource",
        "route_limit",
        "token",
        "workspace",
    )

    def __init__(
        self,
        request: RequestInfo,
        token: str | None,
        required: frozenset[str] = frozenset(),
        *,
        native: Any = None,
        route_limit: Any = None,
    ) -> None:
        self.request = request
        self.token = token
        self.required = required
        self.native = native  # the framework's own request object, for app callables
        self.route_limit = route_limit
        self.auth: AuthContext | None = None
        self.caller: Caller | None = None
        self.resource: Any = None
        self.workspace: str | None = None
        self.extra: dict[str, Any] = {}

    @property
    def token_hash(self) -> str | None:
        """sha256 hex of the token once authenticated (its cache entry and rate-limit bucket)."""
        return self.auth.token_hash if self.auth else None

    @property
    def claims(self) -> Mapping[str, Any]:
        """The verified claims (empty before authentication)."""
        return self.auth.claims if self.auth else {}

    @property
    def granted(self) -> frozenset[str]:
        """The granted scopes, expanded through the catalog (empty before authentication)."""
        return self.auth.scopes if self.auth else frozenset()
