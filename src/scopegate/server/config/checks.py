"""The start-up check of each server setting: one row per field (see :mod:`.settings`).

A check returns None when a value is allowed, else the phrase after "must be"
(:mod:`scopegate.config_checks`). A new setting adds its row here.
"""

from __future__ import annotations

import ipaddress
from typing import Protocol

import sqlalchemy as sa

from ...config_checks import (
    Check,
    ConfigError,
    absolute_uri,
    existing_file,
    http_url,
    number_in,
    one_of,
    redis_url,
    text,
    whole_number_in,
)
from ...tokens.api_keys import validate_prefix

__all__ = ["FIELD_CHECKS", "MAX_LIFETIME", "MAX_LOGIN_FAILURES", "MAX_LOGIN_WAIT",
           "check_cross_field_rules", "proxy_items", "setting_name"]

MAX_LIFETIME = 10 * 365 * 24 * 3600
MAX_LOGIN_FAILURES = 100_000
MAX_LOGIN_WAIT = 86_400.0


def setting_name(field_name: str) -> str:
    """How an operator spells a setting: its variable, and its ``serve`` flag if any."""
    variable = "SCOPEGATE_" + field_name.upper()
    flag = None if field_name in FLAGLESS else flag_name(field_name)
    return f"{variable} ({flag})" if flag else variable


#: Settings ``scopegate serve`` has no flag for: secrets (a command line is visible to
#: every user in the process list) and the feature switches (``SCOPEGATE_FEATURE_*``).
FLAGLESS = frozenset({"session_secret", "kek", "features"})


def flag_name(field_name: str) -> str:
    """How ``scopegate serve`` spells a setting's flag: ``--`` and its name with dashes."""
    return "--catalog" if field_name == "catalog_path" else "--" + field_name.replace("_", "-")


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


def proxy_items(raw: str) -> list[str]:
    """The comma-separated items of a proxy list, blanks dropped."""
    return [item.strip() for item in raw.split(",") if item.strip()]


def _proxy_list(raw: str) -> str | None:
    """uvicorn's trusted proxies: addresses or networks, comma-separated, or *."""
    for item in proxy_items(raw):
        if item == "*":
            continue
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError:
            return "proxy addresses or networks (e.g. 10.0.0.5,10.1.0.0/16) or *"
    return None


def _token_hashes(raw: str) -> str | None:
    """Initial access tokens: the SHA-256 hex of each, comma-separated."""
    for item in proxy_items(raw):
        if len(item) != 64 or any(c not in "0123456789abcdef" for c in item):
            return ("SHA-256 hex digests (64 lower-case hex digits), comma-separated, as "
                    "`scopegate clients initial-token` prints them")
    return None


def _on_or_off(value: object) -> str | None:
    return None if isinstance(value, bool) else "on or off (1/0, true/false)"


_LIFETIME = whole_number_in(1, MAX_LIFETIME)  # larger ones overflow datetime arithmetic

FIELD_CHECKS: dict[str, Check] = {
    "host": text(255, forbidden=" /"),
    "port": whole_number_in(1, 65535),
    "issuer": http_url,
    "database_url": _database_url,
    "catalog_path": existing_file,
    "redis_url": redis_url,
    "access_token_ttl": _LIFETIME,
    "refresh_token_ttl": _LIFETIME,
    "code_ttl": _LIFETIME,
    "device_code_ttl": _LIFETIME,
    "device_interval": whole_number_in(1, 3600),
    "par_ttl": whole_number_in(5, 600),
    "par_required": _on_or_off,
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
    "registration": one_of("open", "token", "off"),
    "registration_initial_tokens": _token_hashes,
    "registration_per_address": whole_number_in(1, MAX_LOGIN_FAILURES),
    "registration_window": number_in(1, 30 * 86_400, " seconds (30 days)"),
    "registration_unused_ttl": _LIFETIME,
    "client_id_documents": _on_or_off,
    "client_id_documents_allow_loopback": _on_or_off,
    "dpop_nonce": _on_or_off,
    "access_log": _on_or_off,
}
"""Start-up check of each field (None values are skipped); a new setting adds its row."""


class _Paired(Protocol):
    """The settings that must agree with one another."""

    login_first_wait: float
    login_max_wait: float
    session_idle_ttl: int
    session_absolute_ttl: int


def check_cross_field_rules(settings: _Paired) -> None:
    """Rules between two settings, checked after each one's own."""
    # The longest wait is not shorter than the first; idle ends no later than absolute.
    if settings.login_max_wait < settings.login_first_wait:
        raise ConfigError(setting_name("login_max_wait"),
                          f"at least LOGIN_FIRST_WAIT ({settings.login_first_wait:g})",
                          settings.login_max_wait)
    if settings.session_idle_ttl > settings.session_absolute_ttl:
        raise ConfigError(setting_name("session_idle_ttl"),
                          f"at most SESSION_ABSOLUTE_TTL ({settings.session_absolute_ttl})",
                          settings.session_idle_ttl)
