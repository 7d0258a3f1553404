"""Every server option in one place, with its documented default.

Each field reads ``SCOPEGATE_<NAME>`` from the environment (upper case). Lifetimes are in
seconds. Every field is checked when the settings are built (:data:`FIELD_CHECKS`, one row
per field), so ``scopegate serve`` refuses a bad value in one line before serving; a new
setting adds its row. Feature flags live in :class:`Features` and are read from
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
import sqlalchemy as sa

from ..config_checks import (
    Check,
    check_fields,
    existing_file,
    http_url,
    number_in,
    one_of,
    text,
    url_with_scheme,
    whole_number_in,
)
from ..tokens.api_keys import validate_prefix

__all__ = ["ENV_PREFIX", "FIELD_CHECKS", "SECRET_FIELDS", "Features", "Settings",
           "default_database_url", "setting_name"]

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
    client_cache_ttl: float = 5.0
    workers: int = 1
    features: Features = field(default_factory=Features)

    def __post_init__(self) -> None:
        if not self.issuer:
            host = f"[{self.host}]" if ":" in self.host else self.host  # an IPv6 literal
            object.__setattr__(self, "issuer", f"http://{host}:{self.port}")
        object.__setattr__(self, "issuer", self.issuer.rstrip("/"))
        if not self.database_url:
            object.__setattr__(self, "database_url", default_database_url())
        check_fields(self, FIELD_CHECKS, setting_name, secrets=SECRET_FIELDS)

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


def setting_name(field_name: str) -> str:
    """How an operator spells a setting: its variable, and its ``serve`` flag if any."""
    variable = ENV_PREFIX + field_name.upper()
    flag = _SERVE_FLAGS.get(field_name)
    return f"{variable} ({flag})" if flag else variable


_SERVE_FLAGS = {"host": "--host", "port": "--port", "issuer": "--issuer",
                "database_url": "--database-url", "catalog_path": "--catalog",
                "workers": "--workers"}


def _database_url(value: str) -> str | None:
    allowed = ("an sqlite:/// or postgresql+psycopg:// URL, "
               "e.g. postgresql+psycopg://user@host/db")
    try:
        backend = sa.make_url(value).get_backend_name()
    except (sa.exc.ArgumentError, ValueError):
        return allowed
    return None if backend in ("sqlite", "postgresql") else allowed


def _api_key_prefix(value: str) -> str | None:
    try:
        validate_prefix(value)
    except ValueError:
        return "1 to 16 lower-case letters or digits starting with a letter"
    return None


def _secret(value: str) -> str | None:
    return None if len(value) >= 32 else "at least 32 characters (e.g. 32 random bytes, hex)"


_LIFETIME = whole_number_in(1, MAX_LIFETIME)  # larger ones overflow datetime arithmetic

FIELD_CHECKS: dict[str, Check] = {
    "host": text(255, forbidden=" /"),
    "port": whole_number_in(1, 65535),
    "issuer": http_url,
    "database_url": _database_url,
    "catalog_path": existing_file,
    "redis_url": url_with_scheme("redis", "rediss", "unix", example="redis://127.0.0.1:6379/0"),
    "access_token_ttl": _LIFETIME,
    "refresh_token_ttl": _LIFETIME,
    "code_ttl": _LIFETIME,
    "device_code_ttl": _LIFETIME,
    "device_interval": whole_number_in(1, 3600),
    "signing_alg": one_of("ES256", "EdDSA"),
    "max_body_bytes": whole_number_in(1024, 64 * 1024 * 1024),
    "api_key_prefix": _api_key_prefix,
    "session_secret": _secret,
    "client_cache_ttl": number_in(0, MAX_LIFETIME, " seconds"),
    "workers": whole_number_in(1, 256),
}
"""Start-up check of each field (None values are skipped); a new setting adds its row."""

SECRET_FIELDS = frozenset({"session_secret"})
"""Fields an error message names but never repeats."""


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
