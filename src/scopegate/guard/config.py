"""Guard settings: one frozen object, every option with a documented default."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

__all__ = ["AudienceMode", "GuardConfig", "RateLimit"]


class AudienceMode(StrEnum):
    """How the guard treats a token that lacks the API's audience (seed 000's rollout).

    ``off`` ignores ``aud``; ``warn`` accepts the token and counts it by client and SDK so an
    operator can see who still has to upgrade; ``enforce`` answers 401 ``invalid_token``.
    """

    OFF = "off"
    WARN = "warn"
    ENFORCE = "enforce"


@dataclass(frozen=True, slots=True)
class RateLimit:
    """A sliding-window budget: at most ``limit`` requests per ``window_s`` seconds."""

    limit: int = 60
    window_s: float = 60.0

    def __post_init__(self) -> None:
        if self.limit < 1 or self.window_s <= 0:
            raise ValueError("a rate limit needs limit >= 1 and window_s > 0")


@dataclass(frozen=True, slots=True)
class GuardConfig:
    """Everything the resource-server guard needs to know, with safe defaults.

    :param issuer: the authorization server's issuer URL (``iss`` must equal it).
    :param audience: this API's resource identifier (``aud``), e.g. the catalog's audience.
    :param audience_mode: ``off`` / ``warn`` / ``enforce`` (see :class:`AudienceMode`).
    :param realm: the ``realm`` of every ``WWW-Authenticate: Bearer`` challenge.
    :param client_id: this resource server's client id, for RFC 7662 introspection.
    :param client_secret: its secret (only ever sent to the introspection endpoint).
    :param jwks_uri: where the signing keys live; discovered from metadata when None.
    :param introspection_endpoint: discovered from metadata when None.
    :param leeway_s: clock skew tolerated on ``exp`` / ``nbf`` / ``iat``.
    :param rate_limit: the default per-token budget (60 per 60 s).
    :param failed_auth_limit: the per-IP budget of failed authentications; past it that
        address's failures answer 429 instead of 401 (valid tokens still pass). None (the
        default) turns the throttle off.
    :param cache_max_entries: size of the auth-context LRU.
    :param cache_ttl_s: longest a verified JWT stays cached (never past its ``exp``).
    :param introspection_ttl_s: longest an introspected token stays cached.
    :param negative_ttl_s: how long an inactive introspection answer is remembered.
    :param jwks_max_age_s: how long a fetched JWKS is trusted before a refresh.
    :param jwks_min_refetch_s: at most one refetch per this interval (unknown ``kid``).
    :param max_token_length: longer bearer tokens are refused unread.
    :param http_timeout_s: timeout of every call to the authorization server.
    """

    issuer: str
    audience: str | None = None
    audience_mode: AudienceMode = AudienceMode.ENFORCE
    realm: str = "scopegate"
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    jwks_uri: str | None = None
    introspection_endpoint: str | None = None
    leeway_s: float = 30.0
    rate_limit: RateLimit = field(default_factory=RateLimit)
    failed_auth_limit: RateLimit | None = None
    cache_max_entries: int = 10_000
    cache_ttl_s: float = 300.0
    introspection_ttl_s: float = 30.0
    negative_ttl_s: float = 5.0
    jwks_max_age_s: float = 600.0
    jwks_min_refetch_s: float = 30.0
    max_token_length: int = 8192
    http_timeout_s: float = 5.0

    def __post_init__(self) -> None:
        if not self.issuer.startswith(("https://", "http://")):
            raise ValueError("issuer must be an http(s) URL")
        object.__setattr__(self, "issuer", self.issuer.rstrip("/"))
        object.__setattr__(self, "audience_mode", AudienceMode(self.audience_mode))
        if self.audience_mode is not AudienceMode.OFF and not self.audience:
            raise ValueError(f"audience_mode={self.audience_mode.value} needs an audience")

    @property
    def resolved_introspection_endpoint(self) -> str:
        """The configured introspection endpoint, else the issuer's conventional one."""
        return self.introspection_endpoint or f"{self.issuer}/oauth/introspect"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> GuardConfig:
        """Read ``SCOPEGATE_ISSUER``, ``SCOPEGATE_AUDIENCE``, ``SCOPEGATE_AUDIENCE_MODE``,
        ``SCOPEGATE_GUARD_CLIENT_ID``/``_SECRET`` and ``SCOPEGATE_RATE_LIMIT`` (``N/SECONDS``).
        """
        env = os.environ if env is None else env
        issuer = env.get("SCOPEGATE_ISSUER")
        if not issuer:
            raise ValueError("SCOPEGATE_ISSUER is not set")
        limit = RateLimit()
        if raw := env.get("SCOPEGATE_RATE_LIMIT"):
            count, _, window = raw.partition("/")
            limit = RateLimit(int(count), float(window or 60))
        return cls(
            issuer=issuer,
            audience=env.get("SCOPEGATE_AUDIENCE") or None,
            audience_mode=AudienceMode(env.get("SCOPEGATE_AUDIENCE_MODE", "enforce")),
            realm=env.get("SCOPEGATE_REALM", "scopegate"),
            client_id=env.get("SCOPEGATE_GUARD_CLIENT_ID") or None,
            client_secret=env.get("SCOPEGATE_GUARD_CLIENT_SECRET") or None,
            rate_limit=limit,
        )
