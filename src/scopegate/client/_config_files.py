"""Reading the client's configuration files safely, and the credentials they name.

Every file is size-capped JSON whose problems are one :class:`ConfigError` naming the
file; a file holding a secret warns when other users can read it (as ssh does); the OS
keyring is asked with a timeout, because a locked D-Bus secret service never answers.
"""

from __future__ import annotations

import json
import logging
import os
import stat
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import platformdirs

from scopegate.scopes import ScopeError, validate_tokens

from ._exceptions import ConfigError

__all__ = [
    "CONFIG_DIR_ENV",
    "CREDENTIALS_FILE",
    "KEYRING_SERVICE",
    "Credentials",
    "KeyringTimeout",
    "config_dir",
    "keyring_call",
    "load_credentials",
    "read_json",
    "scopes_field",
    "str_field",
    "warn_if_open",
]

log = logging.getLogger("scopegate.client")

CONFIG_DIR_ENV = "SCOPEGATE_CONFIG_DIR"
CREDENTIALS_FILE = "credentials.json"
KEYRING_SERVICE = "scopegate"
_KEYRING_PREFIX = "keyring://"
_MAX_CONFIG_BYTES = 1_000_000


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


@dataclass(frozen=True, slots=True)
class Credentials:
    """A client id and secret for the client-credentials grant, with optional scopes."""

    client_id: str
    client_secret: str
    scopes: tuple[str, ...] | None = None
    source: str = ""

    def __repr__(self) -> str:
        return f"Credentials(client_id={self.client_id!r}, client_secret='***')"


def read_json(path: Path, what: str, *, secret: bool = False) -> Any:
    """Parse a config file of at most 1 MB; every failure is a :class:`ConfigError`."""
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


def scopes_field(value: Any, where: str) -> tuple[str, ...] | None:
    """A ``scopes`` entry: absent, or a non-empty list of valid scope names."""
    if value is None:
        return None
    if not isinstance(value, list) or not value:
        raise ConfigError(f"{where}: 'scopes' must be a non-empty list of scope names")
    try:
        return validate_tokens(value)
    except ScopeError as exc:
        raise ConfigError(f"{where}: 'scopes': {exc}") from None


def str_field(entry: Mapping[str, Any], name: str, where: str, *, required: bool) -> str | None:
    """A non-empty string entry, stripped (None when absent and not ``required``)."""
    value = entry.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where}: {name!r} must be a non-empty string")
    return value.strip()


def _credentials_from(data: Any, where: str) -> Credentials:
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: credentials must be a JSON object")
    client_id = str_field(data, "clientId", where, required=True)
    secret = str_field(data, "clientSecret", where, required=True)
    assert client_id is not None and secret is not None
    return Credentials(client_id, secret, scopes_field(data.get("scopes"), where), where)


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
    return _credentials_from(read_json(file, "credentials file", secret=True), str(file))
