"""Every server option in one place, with its documented default.

Each field reads ``SCOPEGATE_<NAME>`` from the environment; pydantic-settings reads and
converts the variables. Lifetimes are in seconds. Every field is then checked
(:data:`FIELD_CHECKS`, one row per field, in :mod:`.settings_checks`), so ``scopegate
serve`` refuses a bad value in one line before serving; a new setting adds its row. Feature
flags live in :class:`Features` and are read from ``SCOPEGATE_FEATURE_<NAME>``
(``1``/``true``/``yes``/``on`` enable). The shape follows
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
redis_url              None: in-memory limits, caches and revocations (one process)
access_token_ttl       3600 (1 hour)
refresh_token_ttl      2592000 (30 days)
code_ttl               60
device_code_ttl        600
device_interval        5
par_ttl                60: seconds a pushed request_uri waits for the browser (RFC 9126)
par_required           off: every authorization request must be pushed first
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
client_cache_ttl       5.0 s a client lookup is reused; with Redis >= 300 s (changes pushed)
workers                1
management_audience    ``{issuer}/api/v1/``: the resource identifier (RFC 8707) of the
                       management API; ``keys:*`` and ``admin:*`` tokens carry it as ``aud``
login_failures_per_*   5 per (account, address), 100 per address, then each try waits
login_first_wait       1.0 s, the first wait; doubled per further failure
login_max_wait         900.0 s (15 min), the longest wait
login_failure_reset    43200.0 s (12 h) without an attempt and a counter is forgotten
forwarded_allow_ips    ``""``: trust no proxy; client address = the TCP peer
=====================  ==============================================================

The issuer's UserInfo endpoint is a resource too: ``{issuer}/userinfo``
(:attr:`Settings.userinfo_audience`), which every token with ``openid`` also names.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from contextvars import ContextVar
from pathlib import Path
from types import MappingProxyType
from typing import Any, Self

import platformdirs
from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_core.core_schema import ValidationInfo
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from ...config_checks import ConfigError, check_fields
from .checks import FIELD_CHECKS, check_cross_field_rules, proxy_items, setting_name

__all__ = ["ENV_PREFIX", "FIELD_CHECKS", "SECRET_FIELDS", "Features", "Settings",
           "default_database_url", "setting_name"]

ENV_PREFIX = "SCOPEGATE_"  # also spelled out in settings_checks.setting_name
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}
SECRET_FIELDS = frozenset({"session_secret", "kek"})
"""Fields an error message names but never repeats."""

# The variables :meth:`Settings.from_env` reads: os.environ or the mapping it was given.
# Built directly (``Settings(port=...)``), the settings read no environment at all.
_ENVIRONMENT: ContextVar[Mapping[str, str]] = ContextVar("scopegate_settings_env",
                                                         default=MappingProxyType({}))


def default_database_url() -> str:
    """The zero-set-up database: ``scopegate.db`` in the user data dir (created if missing).

    ``serve`` and every admin command use this same default, so a newcomer never passes
    ``--database-url`` on one machine.
    """
    directory = Path(platformdirs.user_data_dir("scopegate"))
    directory.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{directory / 'scopegate.db'}"


class _Environment(EnvSettingsSource):
    """pydantic-settings' environment source, reading the mapping ``from_env`` was given."""

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return {name.lower(): value for name, value in _ENVIRONMENT.get().items()
                if not (self.env_ignore_empty and value == "")}


class _FromEnvironment(BaseSettings):
    """Keyword arguments win over the environment; no .env file, no secrets directory."""

    def __init__(self, **values: Any) -> None:
        try:
            super().__init__(**values)
        except ValidationError as exc:
            raise _operator_error(exc) from None

    @classmethod
    def settings_customise_sources(
        cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource, dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return init_settings, _Environment(settings_cls)


class Features(_FromEnvironment):
    """Feature flags: a disabled feature mounts no route and is not advertised."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX + "FEATURE_", frozen=True,
                                      extra="forbid")

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
    token_exchange: bool = True  # RFC 8693; each client still needs the grant itself

    @field_validator("*", mode="before")
    @classmethod
    def _on_or_off(cls, value: Any, info: ValidationInfo) -> Any:
        if not isinstance(value, str):
            return value
        lowered = value.strip().lower()
        if lowered not in _TRUE | _FALSE:
            variable = f"{ENV_PREFIX}FEATURE_{str(info.field_name).upper()}"
            raise ValueError(f"{variable} must be on or off")
        return lowered in _TRUE

    def to_env(self) -> dict[str, str]:
        """The ``SCOPEGATE_FEATURE_*`` variables of these flags (``1`` or ``0``)."""
        return {f"{ENV_PREFIX}FEATURE_{name.upper()}": "1" if enabled else "0"
                for name, enabled in self}


class Settings(_FromEnvironment):
    """The authorization server's configuration (immutable once built).

    Build it with :meth:`from_env`; pass overrides as keyword arguments.
    """

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, frozen=True, extra="forbid",
                                      env_ignore_empty=True)

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
    par_ttl: int = 60
    par_required: bool = False
    signing_alg: str = "ES256"
    max_body_bytes: int = 16384
    api_key_prefix: str = "sg"
    session_secret: str | None = None
    kek: str | None = Field(default=None, repr=False)
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
    registration: str = "open"  # open | token | off (scopegate.server.registration)
    registration_initial_tokens: str = Field(default="", repr=False)
    registration_per_address: int = 20
    registration_window: float = 3600.0
    registration_unused_ttl: int = 30 * 86_400
    client_id_documents: bool = True
    client_id_documents_allow_loopback: bool = False
    dpop_nonce: bool = False
    access_log: bool = False  # one JSON line per request (server/ops/access_log.py)
    features: Features = Field(default_factory=Features)

    @model_validator(mode="after")
    def _derive_then_check(self) -> Self:
        derived = _derived_defaults(self)
        for name, value in derived.items():
            object.__setattr__(self, name, value)  # frozen: set once, while being built
        check_fields(self, FIELD_CHECKS, setting_name, secrets=SECRET_FIELDS)
        check_cross_field_rules(self)
        object.__setattr__(self, "forwarded_allow_ips",
                           ",".join(proxy_items(self.forwarded_allow_ips)))
        return self

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
        token = _ENVIRONMENT.set(os.environ if env is None else env)
        try:
            return cls(**{name: value for name, value in overrides.items() if value is not None})
        finally:
            _ENVIRONMENT.reset(token)

    def replace(self, **changes: Any) -> Settings:
        """A copy with ``changes``, checked again (the environment is not read again)."""
        return type(self)(**{**dict(self), **changes})

    def to_env(self) -> dict[str, str]:
        """The ``SCOPEGATE_*`` variables that rebuild these settings in another process."""
        out: dict[str, str] = {}
        for name, value in self:
            if isinstance(value, Features):
                out.update(value.to_env())
            elif value is not None:
                out[ENV_PREFIX + name.upper()] = str(value)
        return out


def _derived_defaults(settings: Settings) -> dict[str, str]:
    """The defaults that follow from other fields: issuer, database, management audience."""
    issuer = settings.issuer
    if not issuer:
        host = f"[{settings.host}]" if ":" in settings.host else settings.host  # IPv6 literal
        issuer = f"http://{host}:{settings.port}"
    issuer = issuer.rstrip("/")
    return {"issuer": issuer,
            "database_url": settings.database_url or default_database_url(),
            "management_audience": settings.management_audience or issuer + "/api/v1/"}


def _operator_error(exc: ValidationError) -> ValueError:
    """The first problem as one sentence naming the variable, as ``serve`` prints it.

    A check's own :class:`ConfigError` (or the feature flags' error) comes back as it was
    raised; a value pydantic could not convert is a variable that is not a number.
    """
    error = exc.errors()[0]
    cause = error.get("ctx", {}).get("error")
    if isinstance(cause, ValueError):
        return cause
    name = str(error["loc"][0]) if error["loc"] else "?"
    value = error["input"]
    if isinstance(value, str):
        return ValueError(f"{ENV_PREFIX}{name.upper()} must be a number, not {value!r}")
    check = FIELD_CHECKS.get(name)
    allowed = (check(value) if check else None) or error["msg"].lower()
    return ConfigError(setting_name(name), allowed, None if name in SECRET_FIELDS else value)
