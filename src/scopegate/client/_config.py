"""Client configuration: named environments and scope precedence.

Files live in ``platformdirs.user_config_dir("scopegate")`` unless ``SCOPEGATE_CONFIG_DIR``
or an explicit path says otherwise (reading them: :mod:`._config_files`)::

    environments.json  {"default": "prod",
                        "environments": {"prod": {"issuer": ..., "api_base_url": ...,
                        "client_id": ..., "credentials": "keyring://prod", "scopes": [...],
                        "dpop": true}}}

``scopegate env add`` writes ``environments.json`` (:mod:`._config_write`).
    credentials.json   {"clientId": ..., "clientSecret": ..., "scopes": [...]}

Scope precedence (a bug here hands a read-only environment a write token):
explicit argument / ``--scope`` > environment entry > credentials file > what the API
names (RFC 9728, when the issuer is discovered) > provider defaults.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from scopegate.scopes import ScopeError, validate_tokens

from ._config_files import (
    Credentials,
    config_dir,
    read_json,
    scopes_field,
    str_field,
)
from ._exceptions import ConfigError
from ._https import insecure_http_allowed, secure_url

__all__ = [
    "ADD_HINT",
    "ENVIRONMENTS_FILE",
    "ENV_SELECT_ENV",
    "Environment",
    "ScopeChoice",
    "ScopeSource",
    "load_environment",
    "load_environments",
    "parse_environments",
    "resolve_scopes",
]

ENV_SELECT_ENV = "SCOPEGATE_ENV"
ENVIRONMENTS_FILE = "environments.json"
#: What creates the first environment (said wherever none is found).
ADD_HINT = "scopegate env add NAME --issuer https://..."
_ENVIRONMENT_KEYS = frozenset({"issuer", "api_base_url", "client_id", "credentials", "scopes",
                               "dpop"})


class ScopeSource(StrEnum):
    """Where the effective scope set came from."""

    EXPLICIT = "explicit"
    ENVIRONMENT = "environment"
    CREDENTIALS = "credentials"
    RESOURCE = "resource"  # what the API's RFC 9728 challenge or metadata names
    DEFAULT = "default"


@dataclass(frozen=True, slots=True)
class ScopeChoice:
    """The scopes to request and the source that won the precedence."""

    scopes: tuple[str, ...]
    source: ScopeSource


@dataclass(frozen=True, slots=True)
class Environment:
    """One named entry of ``environments.json`` (no ``issuer``: the API's metadata names it)."""

    name: str
    issuer: str | None
    api_base_url: str | None = None
    client_id: str | None = None
    credentials: str | None = None
    scopes: tuple[str, ...] | None = None
    source: str = ""
    dpop: bool = False  # sender-constrained tokens (RFC 9449)


def _url_field(
    entry: Mapping[str, Any], name: str, where: str, *, required: bool, insecure: bool
) -> str | None:
    value = str_field(entry, name, where, required=required)
    try:
        return None if value is None else secure_url(value, name, allow_insecure_http=insecure)
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from None


def _environment(name: str, entry: Any, where: str, source: str, insecure: bool) -> Environment:
    if not isinstance(entry, dict):
        raise ConfigError(f"{where}: must be an object")
    unknown = sorted(set(entry) - _ENVIRONMENT_KEYS)
    if unknown:  # a typo ("scope") would otherwise fall back to broader defaults
        known = ", ".join(sorted(_ENVIRONMENT_KEYS))
        raise ConfigError(f"{where}: unknown setting {unknown[0]!r} (known: {known})")
    # Without an issuer, the API's RFC 9728 metadata names it (``_resource.py``).
    issuer = _url_field(entry, "issuer", where, required=entry.get("api_base_url") is None,
                        insecure=insecure)
    api = _url_field(entry, "api_base_url", where, required=False, insecure=insecure)
    return Environment(
        name=name,
        issuer=issuer.rstrip("/") if issuer else None,
        api_base_url=api,
        client_id=str_field(entry, "client_id", where, required=False),
        credentials=str_field(entry, "credentials", where, required=False),
        scopes=scopes_field(entry.get("scopes"), where),
        source=source,
        dpop=_flag(entry, "dpop", where),
    )


def _flag(entry: Mapping[str, Any], name: str, where: str) -> bool:
    value = entry.get(name, False)
    if not isinstance(value, bool):
        raise ConfigError(f"{where}: {name} must be true or false")
    return value


def _environments_file(path: str | os.PathLike[str] | None) -> Path:
    return Path(path) if path is not None else config_dir() / ENVIRONMENTS_FILE


def _read_environments(
    file: Path, insecure: bool
) -> tuple[dict[str, Environment], str | None]:
    """Every environment of ``file`` and the name its ``default`` picks (if any)."""
    try:
        data = read_json(file, "environments file")
    except ConfigError:
        if not file.exists():  # the first run: say what creates the file
            raise ConfigError(f"{file}: no environments yet; run: {ADD_HINT}") from None
        raise
    return parse_environments(data, file, insecure)


def parse_environments(
    data: Any, file: Path, insecure: bool
) -> tuple[dict[str, Environment], str | None]:
    """Check a parsed ``environments.json``: every environment, and the ``default`` name."""
    envs = data.get("environments") if isinstance(data, dict) else None
    if not isinstance(envs, dict):
        raise ConfigError(f"{file}: expected an object with an 'environments' object")
    default = data.get("default")
    if default is not None and (not isinstance(default, str) or default not in envs):
        raise ConfigError(f"{file}: 'default' must name one of the environments "
                          f"({', '.join(sorted(envs)) or 'none defined'}); fix it by hand or "
                          f"run: {ADD_HINT} --default")
    loaded = {
        name: _environment(name, entry, f"{file}: environment {name!r}", str(file), insecure)
        for name, entry in envs.items()
    }
    return loaded, default


def load_environments(
    path: str | os.PathLike[str] | None = None, *, allow_insecure_http: bool | None = None
) -> dict[str, Environment]:
    """Read every environment from ``environments.json`` (default: in :func:`config_dir`).

    URLs must be https, or http to loopback (see :mod:`._https`); unknown keys are errors.
    """
    insecure = insecure_http_allowed(allow_insecure_http)  # a bad value fails even if unused
    return _read_environments(_environments_file(path), insecure)[0]


def load_environment(
    name: str | None = None,
    path: str | os.PathLike[str] | None = None,
    *,
    allow_insecure_http: bool | None = None,
) -> Environment:
    """Return one environment: ``name``, else ``SCOPEGATE_ENV``, else the file's
    ``default``, else the only one defined. Every refusal names the command to run."""
    file = _environments_file(path)
    envs, default = _read_environments(file, insecure_http_allowed(allow_insecure_http))
    chosen = name or os.environ.get(ENV_SELECT_ENV) or default
    names = ", ".join(sorted(envs)) or "none defined"
    if not chosen:
        if len(envs) == 1:
            return next(iter(envs.values()))
        if not envs:
            raise ConfigError(f"{file}: no environments yet; run: {ADD_HINT}")
        first = shlex.quote(sorted(envs)[0])
        raise ConfigError(f"{file}: choose an environment with --env or {ENV_SELECT_ENV} "
                          f"({names}; none is the default), e.g. run: "
                          f"scopegate login --env {first}")
    if chosen not in envs:
        origin = "" if name else f"{ENV_SELECT_ENV}={chosen!r}: "
        add = f"scopegate env add {shlex.quote(chosen)} --issuer https://..."
        raise ConfigError(f"{file}: {origin}no environment named {chosen!r} ({names}); "
                          f"run: {add} (or scopegate env list)")
    return envs[chosen]


def resolve_scopes(
    explicit: Iterable[str] | None,
    environment: Environment | None,
    credentials: Credentials | None,
    defaults: Iterable[str],
) -> ScopeChoice:
    """Pick the scopes to request: explicit > environment > credentials file > defaults.

    ``explicit=None`` means "not given"; an explicit empty list is an error, never a
    silent fallback to a broader configured set.
    """
    if explicit is not None:
        listed = list(explicit)
        if not listed:
            raise ConfigError("an explicit scope list was given but it is empty")
        try:
            return ScopeChoice(validate_tokens(listed), ScopeSource.EXPLICIT)
        except ScopeError as exc:
            raise ConfigError(f"explicit scopes: {exc}") from None
    if environment is not None and environment.scopes is not None:
        return ScopeChoice(environment.scopes, ScopeSource.ENVIRONMENT)
    if credentials is not None and credentials.scopes is not None:
        return ScopeChoice(credentials.scopes, ScopeSource.CREDENTIALS)
    return ScopeChoice(validate_tokens(defaults), ScopeSource.DEFAULT)
