"""Client configuration: named environments, credentials files, and scope precedence.

Files live in ``platformdirs.user_config_dir("scopegate")`` unless ``SCOPEGATE_CONFIG_DIR``
or an explicit path says otherwise::

    environments.json  {"environments": {"prod": {"issuer": ..., "api_base_url": ...,
                        "client_id": ..., "credentials": "keyring://prod", "scopes": [...]}}}
    credentials.json   {"clientId": ..., "clientSecret": ..., "scopes": [...]}

Scope precedence (a bug here hands a read-only environment a write token):
explicit argument / ``--scope`` > environment entry > credentials file > what the API
names (RFC 9728, when the issuer is discovered) > provider defaults.
"""

from __future__ import annotations

import json
import logging
import os
import stat
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import platformdirs

from scopegate.scopes import ScopeError, validate_tokens

from ._exceptions import ConfigError
from ._https import insecure_http_allowed, secure_url

__all__ = [
    "CONFIG_DIR_ENV",
    "CREDENTIALS_FILE",
    "ENVIRONMENTS_FILE",
    "ENV_SELECT_ENV",
    "KEYRING_SERVICE",
    "Credentials",
    "Environment",
    "KeyringTimeout",
    "ScopeChoice",
    "ScopeSource",
    "config_dir",
    "load_credentials",
    "load_environment",
    "load_environments",
    "resolve_scopes",
    "warn_if_open",
]

log = logging.getLogger("scopegate.client")

CONFIG_DIR_ENV = "SCOPEGATE_CONFIG_DIR"
ENV_SELECT_ENV = "SCOPEGATE_ENV"
ENVIRONMENTS_FILE = "environments.json"
CREDENTIALS_FILE = "credentials.json"
KEYRING_SERVICE = "scopegate"
_KEYRING_PREFIX = "keyring://"
_MAX_CONFIG_BYTES = 1_000_000
_ENVIRONMENT_KEYS = frozenset({"issuer", "api_base_url", "client_id", "credentials", "scopes"})


class KeyringTimeout(Exception):
    """The OS keyring did not answer in time (e.g. a locked D-Bus secret service)."""


def keyring_call(call: Callable[[], Any], timeout: float) -> Any:
    """Run ``call`` in a daemon thread; a keyring that hangs (a locked D-Bus) is abandoned."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = call()
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=target, name="scopegate-keyring", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise KeyringTimeout(f"keyring did not answer within {timeout:g}s")
    if "error" in box:
        raise box["error"]
    return box.get("value")


_warned_open: set[tuple[str, int]] = set()


def warn_if_open(path: Path, mode: int, what: str) -> None:
    """Warn (once per file and mode) that a file holding secrets is open to other users.

    Like ssh with a private key, but a warning: the file is still used.
    """
    if os.name != "posix" or not mode & 0o077 or (str(path), mode) in _warned_open:
        return
    _warned_open.add((str(path), mode))
    log.warning(
        "%s: %s is accessible to other users (mode %04o); run: chmod 600 %s",
        path, what, stat.S_IMODE(mode), path,
    )


def config_dir(override: str | os.PathLike[str] | None = None) -> Path:
    """Return the config directory: the argument, else ``SCOPEGATE_CONFIG_DIR``, else the OS's."""
    if override is not None:
        return Path(override)
    from_env = os.environ.get(CONFIG_DIR_ENV)
    if from_env:
        if Path(from_env).exists() and not Path(from_env).is_dir():
            raise ConfigError(f"{CONFIG_DIR_ENV}={from_env!r}: not a directory")
        return Path(from_env)
    return Path(platformdirs.user_config_dir("scopegate"))


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
class Credentials:
    """A client id and secret for the client-credentials grant, with optional scopes."""

    client_id: str
    client_secret: str
    scopes: tuple[str, ...] | None = None
    source: str = ""

    def __repr__(self) -> str:
        return f"Credentials(client_id={self.client_id!r}, client_secret='***')"


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


def _read_json(path: Path, what: str, *, secret: bool = False) -> Any:
    try:
        if secret:
            warn_if_open(path, path.stat().st_mode, what)
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{path}: {what} not found") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read {what}: {exc.strerror}") from None
    if len(raw) > _MAX_CONFIG_BYTES:
        raise ConfigError(f"{path}: {what} is larger than {_MAX_CONFIG_BYTES} bytes")
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        where = f" (line {exc.lineno}, column {exc.colno})"
        raise ConfigError(f"{path}: {what} is not valid JSON{where}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: {what} is not UTF-8 text") from None


def _scopes_field(value: Any, where: str) -> tuple[str, ...] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not value:
        raise ConfigError(f"{where}: 'scopes' must be a non-empty list of scope names")
    try:
        return validate_tokens(value)
    except ScopeError as exc:
        raise ConfigError(f"{where}: 'scopes': {exc}") from None


def _str_field(entry: Mapping[str, Any], name: str, where: str, *, required: bool) -> str | None:
    value = entry.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where}: {name!r} must be a non-empty string")
    return value.strip()


def _url_field(
    entry: Mapping[str, Any], name: str, where: str, *, required: bool, insecure: bool
) -> str | None:
    value = _str_field(entry, name, where, required=required)
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
        client_id=_str_field(entry, "client_id", where, required=False),
        credentials=_str_field(entry, "credentials", where, required=False),
        scopes=_scopes_field(entry.get("scopes"), where),
        source=source,
    )


def load_environments(
    path: str | os.PathLike[str] | None = None, *, allow_insecure_http: bool | None = None
) -> dict[str, Environment]:
    """Read every environment from ``environments.json`` (default: in :func:`config_dir`).

    URLs must be https, or http to loopback (see :mod:`._https`); unknown keys are errors.
    """
    insecure = insecure_http_allowed(allow_insecure_http)  # a bad value fails even if unused
    file = Path(path) if path is not None else config_dir() / ENVIRONMENTS_FILE
    data = _read_json(file, "environments file")
    envs = data.get("environments") if isinstance(data, dict) else None
    if not isinstance(envs, dict):
        raise ConfigError(f"{file}: expected an object with an 'environments' object")
    return {
        name: _environment(name, entry, f"{file}: environment {name!r}", str(file), insecure)
        for name, entry in envs.items()
    }


def load_environment(
    name: str | None = None,
    path: str | os.PathLike[str] | None = None,
    *,
    allow_insecure_http: bool | None = None,
) -> Environment:
    """Return one environment: ``name``, else ``SCOPEGATE_ENV``, else the only one defined."""
    envs = load_environments(path, allow_insecure_http=allow_insecure_http)
    chosen = name or os.environ.get(ENV_SELECT_ENV)
    file = Path(path) if path is not None else config_dir() / ENVIRONMENTS_FILE
    if not chosen:
        if len(envs) == 1:
            return next(iter(envs.values()))
        names = ", ".join(sorted(envs)) or "none defined"
        raise ConfigError(f"{file}: choose an environment with --env or {ENV_SELECT_ENV} ({names})")
    if chosen not in envs:
        names = ", ".join(sorted(envs)) or "none defined"
        origin = "" if name else f"{ENV_SELECT_ENV}={chosen!r}: "
        raise ConfigError(f"{file}: {origin}no environment named {chosen!r} ({names})")
    return envs[chosen]


def _credentials_from(data: Any, where: str) -> Credentials:
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: credentials must be a JSON object")
    client_id = _str_field(data, "clientId", where, required=True)
    secret = _str_field(data, "clientSecret", where, required=True)
    assert client_id is not None and secret is not None
    return Credentials(client_id, secret, _scopes_field(data.get("scopes"), where), where)


def load_credentials(
    reference: str | None = None, *, base_dir: str | os.PathLike[str] | None = None
) -> Credentials:
    """Load credentials from a ``keyring://NAME`` reference or a file path.

    Relative paths, and the default ``credentials.json``, are under :func:`config_dir`.
    """
    base = config_dir(base_dir)
    if reference and reference.startswith(_KEYRING_PREFIX):
        name = reference[len(_KEYRING_PREFIX) :]
        if not name:
            raise ConfigError(f"credentials reference {reference!r} names no keyring entry")
        import keyring
        import keyring.errors

        try:
            secret = keyring_call(lambda: keyring.get_password(KEYRING_SERVICE, name), 2.0)
        except (keyring.errors.KeyringError, KeyringTimeout) as exc:
            raise ConfigError(f"{reference}: keyring unavailable: {exc}") from None
        if secret is None:
            raise ConfigError(f"{reference}: no such entry in the OS keyring")
        try:
            data = json.loads(secret)
        except json.JSONDecodeError:
            raise ConfigError(f"{reference}: keyring entry is not valid JSON") from None
        return _credentials_from(data, reference)
    file = Path(reference) if reference else Path(CREDENTIALS_FILE)
    if not file.is_absolute():
        file = base / file
    return _credentials_from(_read_json(file, "credentials file", secret=True), str(file))


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
