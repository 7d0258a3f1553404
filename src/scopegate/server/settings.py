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
session_secret         None: generated once and stored (sealed) in the database
kek                    None: key-encryption key(s), base64url of 32 bytes, comma-separated
                       (the first seals, the others only open: rotation)
kek_file               None: a file with the KEK(s), one a line; with neither set, SQLite
                       uses ``<database file>.kek`` (created, mode 0600) and PostgreSQL
                       refuses to start
session_idle_ttl       1800: a browser session unused this long ends (30 minutes)
session_absolute_ttl   43200: a browser session ends this long after sign-in (12 hours)
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
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import platformdirs
import sqlalchemy as sa

from ..config_checks import (
    Check,
    ConfigError,
    absolute_uri,
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
MAX_LOGIN_FAILURES = 100_000
MAX_LOGIN_WAIT = 86_400.0


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
    session_idle_ttl: int = 30 * 60
    session_absolute_ttl: int = 12 * 3600
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
        if not self.issuer:
            host = f"[{self.host}]" if ":" in self.host else self.host  # an IPv6 literal
            object.__setattr__(self, "issuer", f"http://{host}:{self.port}")
        object.__setattr__(self, "issuer", self.issuer.rstrip("/"))
        if not self.database_url:
            object.__setattr__(self, "database_url", default_database_url())
        if not self.management_audience:
            object.__setattr__(self, "management_audience", self.issuer + "/api/v1/")
        check_fields(self, FIELD_CHECKS, setting_name, secrets=SECRET_FIELDS)
        _check_login_waits(self)
        if self.session_idle_ttl > self.session_absolute_ttl:
            raise ConfigError(setting_name("session_idle_ttl"),
                              f"at most SESSION_ABSOLUTE_TTL ({self.session_absolute_ttl})",
                              self.session_idle_ttl)
        object.__setattr__(self, "forwarded_allow_ips",
                           ",".join(_proxy_items(self.forwarded_allow_ips)))

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


def setting_name(field_name: str) -> str:
    """How an operator spells a setting: its variable, and its ``serve`` flag if any."""
    variable = ENV_PREFIX + field_name.upper()
    flag = _SERVE_FLAGS.get(field_name)
    return f"{variable} ({flag})" if flag else variable


_SERVE_FLAGS = {"host": "--host", "port": "--port", "issuer": "--issuer",
                "database_url": "--database-url", "catalog_path": "--catalog",
                "workers": "--workers", "kek_file": "--kek-file",
                "forwarded_allow_ips": "--forwarded-allow-ips",
                "session_idle_ttl": "--session-idle-ttl",
                "session_absolute_ttl": "--session-absolute-ttl",
                **{name: "--" + name.replace("_", "-") for name in (
                    "login_failures_per_account_address", "login_failures_per_address",
                    "login_first_wait", "login_max_wait", "login_failure_reset")}}


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


def _proxy_items(raw: str) -> list[str]:
    return [item.strip() for item in raw.split(",") if item.strip()]


def _proxy_list(raw: str) -> str | None:
    """uvicorn's trusted proxies: addresses or networks, comma-separated, or *."""
    for item in _proxy_items(raw):
        if item == "*":
            continue
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError:
            return "proxy addresses or networks (e.g. 10.0.0.5,10.1.0.0/16) or *"
    return None


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
    "session_idle_ttl": _LIFETIME,
    "session_absolute_ttl": _LIFETIME,
    "kek": text(4096),
    "kek_file": existing_file,
    "management_audience": absolute_uri,
    "login_failures_per_account_address": whole_number_in(1, MAX_LOGIN_FAILURES),
    "login_failures_per_address": whole_number_in(1, MAX_LOGIN_FAILURES),
    "login_first_wait": number_in(0.001, MAX_LOGIN_WAIT, " seconds"),
    "login_max_wait": number_in(0.001, MAX_LOGIN_WAIT, " seconds"),
    "login_failure_reset": number_in(1, 30 * 86_400, " seconds (30 days)"),
    "forwarded_allow_ips": _proxy_list,
}
"""Start-up check of each field (None values are skipped); a new setting adds its row."""

SECRET_FIELDS = frozenset({"session_secret", "kek"})
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




def _check_login_waits(settings: Settings) -> None:
    """The one cross-field rule: the longest wait is not shorter than the first."""
    if settings.login_max_wait < settings.login_first_wait:
        raise ConfigError(setting_name("login_max_wait"),
                          f"at least LOGIN_FIRST_WAIT ({settings.login_first_wait:g})",
                          settings.login_max_wait)


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
