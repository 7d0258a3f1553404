"""Guard settings: one frozen object, every option with a documented default."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from scopegate.config_checks import (
    Check,
    ConfigError,
    absolute_uri,
    check_fields,
    http_url,
    number_in,
    one_of,
    redis_url,
    text,
    url_with_scheme,
    whole_number_in,
)
from scopegate.ratelimit import MAX_LIMIT, MAX_WINDOW_S, MIN_WINDOW_S

__all__ = ["ENV_NAMES", "FIELD_CHECKS", "AudienceMode", "GuardConfig", "RateLimit"]


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
    """A sliding-window budget: at most ``limit`` requests per ``window_s`` seconds.

    Only budgets the limiters can keep are built (``scopegate.ratelimit``: 1..100000
    requests per 0.001..86400 s), so a declared rate never fails on a request.
    """

    limit: int = 60
    window_s: float = 60.0

    def __post_init__(self) -> None:
        if (whole_number_in(1, MAX_LIMIT)(self.limit) is not None
                or _WINDOW(self.window_s) is not None):
            raise ValueError(f"a rate limit must be {RATE_ALLOWED}, not "
                             f"{self.limit}/{self.window_s}")

    @classmethod
    def parse(cls, raw: str) -> RateLimit:
        """Read ``N/SECONDS`` (``N`` alone means per 60 s).

        :raises ValueError: another shape, or a budget the limiters cannot keep.
        """
        count, slash, window = raw.strip().partition("/")
        try:
            return cls(int(count), float(window) if slash else 60.0)
        except (ValueError, TypeError):
            raise ValueError(RATE_ALLOWED) from None


_WINDOW = number_in(MIN_WINDOW_S, MAX_WINDOW_S)
RATE_ALLOWED = (f"N/SECONDS with N a whole number in 1..{MAX_LIMIT} and SECONDS in "
                f"{MIN_WINDOW_S:g}..{MAX_WINDOW_S:g}, e.g. 60/60")


@dataclass(frozen=True, slots=True)
class GuardConfig:
    """Everything the resource-server guard needs to know, with safe defaults.

    :param issuer: the authorization server's issuer URL (``iss`` must equal it).
    :param audience: this API's resource identifier (``aud``), e.g. the catalog's audience;
        an http(s) one is also the ``resource`` of its RFC 9728 metadata.
    :param audience_mode: ``off`` / ``warn`` / ``enforce`` (see :class:`AudienceMode`).
    :param realm: the ``realm`` of every ``WWW-Authenticate: Bearer`` challenge.
    :param client_id: this resource server's client id, for RFC 7662 introspection.
    :param client_secret: its secret (only ever sent to the introspection endpoint).
    :param jwks_uri: where the signing keys live; discovered from metadata when None.
    :param introspection_endpoint: discovered from metadata when None.
    :param redis_url: where a shared limiter lives (``create_rate_limiter(config.redis_url)``)
        and where the servers push revocations (the guard subscribes; see
        ``guard/revocation.py``); None: per-process memory, no pushed revocations.
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
    :param revocation_poll_s: without ``redis_url``, poll the server's revocation feed
        (with ``client_id``/``client_secret``) this often; the bound on how long a revoked
        JWT still passes. None: no feed (revocations reach this guard only through Redis).
    :param usage_report_s: send the server aggregated usage (for its console's audience
        rollout and least-privilege views) this often, with ``client_id``/``client_secret``;
        the server's answer carries the audience mode an operator chose, which then wins
        over ``audience_mode``. None: no reports (the default).
    :param resource_name: a human-readable API name for the RFC 9728 metadata.
    :param resource_documentation: an http(s) URL of the API's documentation for developers,
        published in the RFC 9728 metadata.
    :param public_url: the API's base URL as clients call it (scheme, host, port), for
        DPoP's ``htu`` behind a proxy; None: the request's own scheme and ``Host``.
    :param dpop_max_age_s: how long after its ``iat`` a DPoP proof is accepted (plus
        ``leeway_s``); its ``jti`` is remembered that long.
    :param dpop_nonce_secret: set to require server nonces in DPoP proofs (RFC 9449 §9),
        derived from the time and this secret: give every replica the same one.
    """

    issuer: str
    audience: str | None = None
    audience_mode: AudienceMode = AudienceMode.ENFORCE
    realm: str = "scopegate"
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    jwks_uri: str | None = None
    introspection_endpoint: str | None = None
    redis_url: str | None = None
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
    resource_name: str | None = None
    resource_documentation: str | None = None
    revocation_poll_s: float | None = None
    public_url: str | None = None
    dpop_max_age_s: float = 300.0
    dpop_nonce_secret: str | None = field(default=None, repr=False)
    usage_report_s: float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "issuer", self.issuer.rstrip("/"))
        check_fields(self, FIELD_CHECKS, _name, secrets=("client_secret", "dpop_nonce_secret"))
        if self.public_url is not None:
            object.__setattr__(self, "public_url", self.public_url.rstrip("/"))
        object.__setattr__(self, "audience_mode", AudienceMode(self.audience_mode))
        if self.audience_mode is not AudienceMode.OFF and not self.audience:
            raise ConfigError(_name("audience"),
                              f"set when {_name('audience_mode')} is {self.audience_mode.value}")
        if (self.client_id is None) != (self.client_secret is None):  # introspection needs both
            missing = "client_secret" if self.client_secret is None else "client_id"
            raise ConfigError(_name(missing), "set together with " + _name(
                "client_id" if missing == "client_secret" else "client_secret"))
        if self.usage_report_s is not None and not (self.client_id and self.audience):
            raise ConfigError(_name("usage_report_s"), "needs " + _name("client_id") + " and "
                              + _name("audience") + " (reports are for one resource)")

    @property
    def resolved_introspection_endpoint(self) -> str:
        """The configured introspection endpoint, else the issuer's conventional one."""
        return self.introspection_endpoint or f"{self.issuer}/oauth/introspect"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> GuardConfig:
        """Read the ``SCOPEGATE_*`` variables of :data:`ENV_NAMES` (rates as ``N/SECONDS``).

        :raises ConfigError: a variable is missing or its value is not allowed; the
            one-line message names it and says what is allowed.
        """
        env = os.environ if env is None else env
        values: dict[str, object] = {}
        for name, variable in ENV_NAMES.items():
            raw = env.get(variable)
            if not raw:  # unset or empty: the default
                continue
            if name in ("rate_limit", "failed_auth_limit"):
                try:
                    values[name] = RateLimit.parse(raw)
                except ValueError:
                    raise ConfigError(variable, RATE_ALLOWED, raw) from None
            elif name in ("revocation_poll_s", "usage_report_s"):
                try:
                    values[name] = float(raw)
                except ValueError:
                    raise ConfigError(variable, "a number of seconds", raw) from None
            else:
                values[name] = raw
        if "issuer" not in values:
            raise ConfigError(ENV_NAMES["issuer"], "set to the authorization server's issuer URL")
        return cls(**values)  # type: ignore[arg-type]


ENV_NAMES = {
    "issuer": "SCOPEGATE_ISSUER",
    "audience": "SCOPEGATE_AUDIENCE",
    "audience_mode": "SCOPEGATE_AUDIENCE_MODE",
    "realm": "SCOPEGATE_REALM",
    "client_id": "SCOPEGATE_GUARD_CLIENT_ID",
    "client_secret": "SCOPEGATE_GUARD_CLIENT_SECRET",
    "redis_url": "SCOPEGATE_REDIS_URL",
    "rate_limit": "SCOPEGATE_RATE_LIMIT",
    "failed_auth_limit": "SCOPEGATE_GUARD_FAILURE_LIMIT",
    "resource_name": "SCOPEGATE_RESOURCE_NAME",
    "resource_documentation": "SCOPEGATE_RESOURCE_DOCUMENTATION",
    "revocation_poll_s": "SCOPEGATE_GUARD_REVOCATION_POLL",
    "public_url": "SCOPEGATE_GUARD_PUBLIC_URL",
    "dpop_nonce_secret": "SCOPEGATE_GUARD_DPOP_NONCE_SECRET",
    "usage_report_s": "SCOPEGATE_GUARD_USAGE_REPORT",
}
"""The variable :meth:`GuardConfig.from_env` reads for each field."""

_ENDPOINT = url_with_scheme("https", "http", example="https://auth.example.com/jwks.json")

FIELD_CHECKS: dict[str, Check] = {
    "issuer": http_url,
    "audience": absolute_uri,
    "audience_mode": one_of(*AudienceMode),
    "realm": text(128, forbidden='"\\'),  # quoted into WWW-Authenticate
    "client_id": text(255),
    "client_secret": text(1024),
    "jwks_uri": _ENDPOINT,
    "introspection_endpoint": _ENDPOINT,
    "redis_url": redis_url,
    "leeway_s": number_in(0, 3600, " seconds"),
    "cache_max_entries": whole_number_in(1, 10_000_000),
    "cache_ttl_s": number_in(0, 86_400, " seconds"),
    "introspection_ttl_s": number_in(0, 86_400, " seconds"),
    "negative_ttl_s": number_in(0, 3600, " seconds"),
    "jwks_max_age_s": number_in(1, 7 * 86_400, " seconds"),
    "jwks_min_refetch_s": number_in(0, 3600, " seconds"),
    "max_token_length": whole_number_in(64, 1_000_000),
    "http_timeout_s": number_in(0.1, 120, " seconds"),
    "resource_name": text(200),
    "revocation_poll_s": number_in(0.1, 3600, " seconds"),
    "public_url": url_with_scheme("https", "http", example="https://api.example.com"),
    "dpop_max_age_s": number_in(1, 3600, " seconds"),
    "dpop_nonce_secret": text(1024),
    "usage_report_s": number_in(0.1, 3600, " seconds"),
    "resource_documentation": url_with_scheme("https", "http",
                                              example="https://docs.example.com/api"),
}
"""Start-up check of each field (None values are skipped); a new setting adds its row.
Rate limits are checked when a :class:`RateLimit` is built."""


def _name(field_name: str) -> str:
    """A field as the operator sets it: its variable, else ``GuardConfig.<field>``."""
    return ENV_NAMES.get(field_name) or f"GuardConfig.{field_name}"
