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
session_secret         None: generated once and stored in the database
session_idle_ttl       1800: a browser session unused this long ends (30 minutes)
session_absolute_ttl   43200: a browser session ends this long after sign-in (12 hours)
client_cache_ttl       5.0 seconds a client lookup is reused on the token endpoint
workers                1
=====================  ==============================================================
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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
    session_idle_ttl: int = 30 * 60
    session_absolute_ttl: int = 12 * 3600
    client_cache_ttl: float = 5.0
    workers: int = 1
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
        self._check_session_lifetimes()
        if not 0 <= self.client_cache_ttl <= MAX_LIFETIME:  # also refuses nan
            raise ValueError("client_cache_ttl must be between 0 and ten years")
        if not self.issuer:
            object.__setattr__(self, "issuer", f"http://{self.host}:{self.port}")
        object.__setattr__(self, "issuer", self.issuer.rstrip("/"))
        if not self.database_url:
            object.__setattr__(self, "database_url", default_database_url())

    def _check_session_lifetimes(self) -> None:
        for name in ("session_idle_ttl", "session_absolute_ttl"):
            if not 0 < getattr(self, name) <= MAX_LIFETIME:
                raise ValueError(f"{name} must be between 1 and {MAX_LIFETIME} seconds")
        if self.session_idle_ttl > self.session_absolute_ttl:
            raise ValueError("session_idle_ttl must not exceed session_absolute_ttl")

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
