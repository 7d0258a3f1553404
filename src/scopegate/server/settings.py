"""Every server option in one place, with its documented default.

Each field reads ``SCOPEGATE_<NAME>`` from the environment (upper case). Lifetimes are in
seconds. Feature flags live in :class:`Features` and are read from
``SCOPEGATE_FEATURE_<NAME>`` (``1``/``true``/``yes``/``on`` enable). The shape follows
node-oidc-provider's ``defaults.js``: one table of options, one table of TTLs, one table
of features.

=====================  ==============================================================
option                 default
=====================  ==============================================================
host                   ``127.0.0.1``
port                   ``8000``
issuer                 ``http://{host}:{port}``
database_url           SQLite file ``scopegate.db`` in the user data dir (created)
catalog_path           None: the bundled catalog (``scopes/default.toml``)
redis_url              None: in-memory rate limits and caches (one process)
access_token_ttl       3600 (1 hour)
refresh_token_ttl      2592000 (30 days)
code_ttl               60
device_code_ttl        600
device_interval        5
signing_alg            ``ES256`` (``EdDSA`` also supported)
max_body_bytes         16384
api_key_prefix         ``sg``
session_secret         None: generated once and stored (sealed) in the database
kek                    None: key-encryption key(s), base64url of 32 bytes, comma-separated
                       (the first seals, the others only open: rotation)
kek_file               None: a file with the KEK(s), one a line; with neither set, SQLite
                       uses ``<database file>.kek`` (created, mode 0600) and PostgreSQL
                       refuses to start
client_cache_ttl       5.0 seconds a client lookup is reused on the token endpoint
workers                1
management_audience    ``{issuer}/api/v1/``: the resource identifier (RFC 8707) of the
                       management API; ``keys:*`` and ``admin:*`` tokens carry it as ``aud``
login_failures_per_    5 wrong passwords for one account from one address, then waits
  account_address
login_failures_per_    100 wrong passwords from one address (any accounts), then waits
  address
login_first_wait       1.0 s, the first wait; doubled per further failure
login_max_wait         900.0 s (15 min), the longest wait
login_failure_reset    43200.0 s (12 h) without an attempt and a counter is forgotten
forwarded_allow_ips    ``""``: trust no proxy; client address = the TCP peer
=====================  ==============================================================

The issuer's UserInfo endpoint is a resource too: ``{issuer}/userinfo``
(:attr:`Settings.userinfo_audience`), which every token with ``openid`` also names.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import platformdirs

__all__ = ["ENV_PREFIX", "Features", "Settings", "default_database_url"]

ENV_PREFIX = "SCOPEGATE_"
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}
MAX_LIFETIME = 10 * 365 * 24 * 3600


def default_database_url() -> str:
    """The zero-set-up database: ``scopegate.db`` in the user data dir (created if missing).

    ``serve`` and every admin command use this same default, so a newcomer never passes
    ``--database-url`` on one machine.
    """
    directory = Path(platformdirs.user_data_dir("scopegate"))
    directory.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{directory / 'scopegate.db'}"


@dataclass(frozen=True, slots=True)
class Features:
    """Feature flags: a disabled feature mounts no route and is not advertised."""

    client_credentials: bool = True
    introspection: bool = True
    revocation: bool = True
    resource_indicators: bool = True
    metrics: bool = True
    authorization_code: bool = True
    device_flow: bool = True
    refresh_tokens: bool = True
    userinfo: bool = True
    api_keys: bool = True


@dataclass(frozen=True, slots=True)
class Settings:
    """The authorization server's configuration (immutable once built).

    Build it with :meth:`from_env`; pass overrides as keyword arguments.
    """

    host: str = "127.0.0.1"
    port: int = 8000
    issuer: str = ""
    database_url: str = ""
    catalog_path: str | None = None
    redis_url: str | None = None
    access_token_ttl: int = 3600
    refresh_token_ttl: int = 30 * 24 * 3600
    code_ttl: int = 60
    device_code_ttl: int = 600
    device_interval: int = 5
    signing_alg: str = "ES256"
    max_body_bytes: int = 16384
    api_key_prefix: str = "sg"
    session_secret: str | None = None
    kek: str | None = field(default=None, repr=False)
    kek_file: str | None = None
    client_cache_ttl: float = 5.0
    workers: int = 1
    management_audience: str = ""
    login_failures_per_account_address: int = 5
    login_failures_per_address: int = 100
    login_first_wait: float = 1.0
    login_max_wait: float = 900.0
    login_failure_reset: float = 12 * 3600.0
    forwarded_allow_ips: str = ""
    features: Features = field(default_factory=Features)

    def __post_init__(self) -> None:
        if self.signing_alg not in ("ES256", "EdDSA"):
            raise ValueError(f"signing_alg must be ES256 or EdDSA, not {self.signing_alg!r}")
        if not 0 < self.port < 65536:
            raise ValueError(f"port must be between 1 and 65535, not {self.port}")
        for name in ("access_token_ttl", "refresh_token_ttl", "code_ttl", "device_code_ttl",
                     "device_interval", "max_body_bytes", "workers"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive")
        for name in ("access_token_ttl", "refresh_token_ttl", "code_ttl", "device_code_ttl",
                     "device_interval"):
            # Larger lifetimes overflow datetime arithmetic (and are never meant).
            if getattr(self, name) > MAX_LIFETIME:
                raise ValueError(f"{name} must be at most {MAX_LIFETIME} seconds (ten years)")
        if not 0 <= self.client_cache_ttl <= MAX_LIFETIME:  # also refuses nan
            raise ValueError("client_cache_ttl must be between 0 and ten years")
        _check_login_throttle(self)
        object.__setattr__(self, "forwarded_allow_ips",
                           _trusted_proxies(self.forwarded_allow_ips))
        if not self.issuer:
            object.__setattr__(self, "issuer", f"http://{self.host}:{self.port}")
        object.__setattr__(self, "issuer", self.issuer.rstrip("/"))
        if not self.database_url:
            object.__setattr__(self, "database_url", default_database_url())
        if not self.management_audience:
            object.__setattr__(self, "management_audience", self.issuer + "/api/v1/")
        elif not _is_resource_uri(self.management_audience):
            raise ValueError("management_audience must be an absolute URI without a fragment")

    @property
    def userinfo_audience(self) -> str:
        """The ``aud`` value that makes an access token valid at ``/userinfo``."""
        return self.issuer + "/userinfo"

    @property
    def audience_symbols(self) -> dict[str, str]:
        """What the catalog's symbolic audiences (``@management``, ``@userinfo``) mean here."""
        return {"@management": self.management_audience, "@userinfo": self.userinfo_audience}

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Read ``SCOPEGATE_*`` variables, then apply ``overrides`` (None means unset).

        :param env: the environment to read (``os.environ`` when None).
        :param overrides: field values that win over the environment.
        :raises ValueError: a variable has a value of the wrong type.
        """
        source = os.environ if env is None else env
        values: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            if f.name == "features":
                continue
            raw = source.get(ENV_PREFIX + f.name.upper())
            if raw is not None and raw != "":
                values[f.name] = _convert(f.name, raw, f.type)
        values["features"] = _features_from_env(source)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def to_env(self) -> dict[str, str]:
        """The ``SCOPEGATE_*`` variables that rebuild these settings in another process."""
        out: dict[str, str] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name == "features":
                for flag in dataclasses.fields(Features):
                    enabled = getattr(value, flag.name)
                    out[f"{ENV_PREFIX}FEATURE_{flag.name.upper()}"] = "1" if enabled else "0"
            elif value is not None:
                out[ENV_PREFIX + f.name.upper()] = str(value)
        return out


def _is_resource_uri(value: str) -> bool:
    # RFC 8707 §2: an absolute URI without a fragment.
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return bool(parts.scheme and parts.netloc) and "#" not in value


def _convert(name: str, raw: str, annotation: Any) -> Any:
    kind = str(annotation)
    try:
        if kind.startswith("int"):
            return int(raw)
        if kind.startswith("float"):
            return float(raw)
    except ValueError:
        raise ValueError(f"{ENV_PREFIX}{name.upper()} must be a number, not {raw!r}") from None
    return raw


MAX_LOGIN_FAILURES = 100_000
MAX_LOGIN_WAIT = 86_400.0


def _check_login_throttle(settings: Settings) -> None:
    """Refuse login-throttle values that would lock nobody or everybody forever."""
    for name in ("login_failures_per_account_address", "login_failures_per_address"):
        value = getattr(settings, name)
        if not 1 <= value <= MAX_LOGIN_FAILURES:
            raise ValueError(f"{ENV_PREFIX}{name.upper()} must be a whole number from 1 to "
                             f"{MAX_LOGIN_FAILURES}, not {value}")
    first, longest = settings.login_first_wait, settings.login_max_wait
    if not 0.001 <= first <= MAX_LOGIN_WAIT:  # also refuses nan
        raise ValueError(f"{ENV_PREFIX}LOGIN_FIRST_WAIT must be 0.001 to {MAX_LOGIN_WAIT:g} "
                         f"seconds, not {first}")
    if not first <= longest <= MAX_LOGIN_WAIT:
        raise ValueError(f"{ENV_PREFIX}LOGIN_MAX_WAIT must be at least LOGIN_FIRST_WAIT "
                         f"({first:g}) and at most {MAX_LOGIN_WAIT:g} seconds, not {longest}")
    reset = settings.login_failure_reset
    if not (math.isfinite(reset) and 1 <= reset <= 30 * 86_400):
        raise ValueError(f"{ENV_PREFIX}LOGIN_FAILURE_RESET must be 1 to 2592000 seconds "
                         f"(30 days), not {reset}")


def _trusted_proxies(raw: str) -> str:
    """Normalise the proxy list uvicorn gets: addresses or networks, comma-separated, or *."""
    items = [item.strip() for item in raw.split(",") if item.strip()]
    for item in items:
        if item == "*":
            continue
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError:
            raise ValueError(f"{ENV_PREFIX}FORWARDED_ALLOW_IPS must list proxy addresses or "
                             f"networks (e.g. 10.0.0.5,10.1.0.0/16) or *, not {item!r}"
                             ) from None
    return ",".join(items)


def _features_from_env(source: Mapping[str, str]) -> Features:
    flags: dict[str, bool] = {}
    for f in dataclasses.fields(Features):
        raw = source.get(f"{ENV_PREFIX}FEATURE_{f.name.upper()}")
        if raw is None:
            continue
        lowered = raw.strip().lower()
        if lowered not in _TRUE | _FALSE:
            raise ValueError(f"{ENV_PREFIX}FEATURE_{f.name.upper()} must be on or off")
        flags[f.name] = lowered in _TRUE
    return Features(**flags)
