"""Writing ``environments.json`` (``scopegate env add`` / ``env remove``).

The file names no secret (credentials stay in the keyring or a 0600 file), so it is
written 0644 in a 0700 directory, like ``gh``'s ``config.yml``. A change re-reads the
file under a lock, checks the result as :func:`load_environments` would, and replaces
the file atomically: a crash or a bad value never leaves half a file behind.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import urllib.parse
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import filelock

from scopegate.scopes import ScopeError, validate_tokens

from ._config import ENVIRONMENTS_FILE, Environment, load_environments, parse_environments
from ._config_files import config_dir, read_json
from ._exceptions import ConfigError
from ._https import insecure_http_allowed, secure_url

__all__ = ["EnvironmentExists", "environments_path", "remove_environment", "save_environment"]

#: A name a shell and a file both take as is (``--env prod-eu``).
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_FILE_MODE = 0o644

Document = dict[str, Any]


class EnvironmentExists(ConfigError):
    """``env add`` of a name that exists, without ``--force``."""

    exit_code = 1


def environments_path(path: str | os.PathLike[str] | None = None) -> Path:
    """The file ``env`` commands change: ``path``, else ``environments.json`` in the config dir."""
    return Path(path) if path is not None else config_dir() / ENVIRONMENTS_FILE


def checked_name(name: str) -> str:
    """An environment name: letters, digits, ``.``, ``_`` or ``-``, at most 64."""
    if not _NAME.fullmatch(name):
        raise ConfigError(f"environment name {name!r}: use letters, digits, '.', '_' or '-' "
                          "(at most 64, starting with a letter or digit)")
    return name


def checked_issuer(url: str) -> str:
    """An issuer identifier (RFC 8414 §2): https (or http to loopback), no query or fragment."""
    url = url.strip()
    if urllib.parse.urlsplit(url).query:
        raise ConfigError(f"issuer {url!r}: an issuer has no ?query (RFC 8414 §2); "
                          "give the base URL, e.g. https://auth.example.com")
    return secure_url(url, "issuer").rstrip("/")


def _entry(issuer: str, client_id: str | None, scopes: Iterable[str]) -> Document:
    entry: Document = {"issuer": checked_issuer(issuer)}
    if client_id is not None:
        if not client_id.strip() or not client_id.isprintable():
            raise ConfigError(f"client_id {client_id!r}: must be printable text, not empty")
        entry["client_id"] = client_id.strip()
    listed = list(scopes)
    if listed:
        try:
            entry["scopes"] = list(validate_tokens(listed))
        except ScopeError as exc:
            raise ConfigError(f"--scope: {exc}") from None
    return entry


def _read(file: Path) -> Document:
    if not file.exists():
        return {"environments": {}}
    data = read_json(file, "environments file")
    if not isinstance(data, dict) or not isinstance(data.get("environments"), dict):
        raise ConfigError(f"{file}: expected an object with an 'environments' object")
    return data


def _write(file: Path, data: Document) -> None:
    fd, tmp = tempfile.mkstemp(prefix=".environments-", suffix=".tmp", dir=file.parent)
    try:
        os.fchmod(fd, _FILE_MODE)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(json.dumps(data, indent=2, sort_keys=True) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, file)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise ConfigError(f"{file}: cannot write environments file: {exc.strerror}") from None


def _change(file: Path, change: Callable[[Document], None]) -> dict[str, Environment]:
    """Re-read ``file`` under its lock, apply ``change``, check and replace it atomically."""
    try:
        file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        with filelock.FileLock(str(file) + ".lock", timeout=10):
            data = _read(file)
            change(data)
            _write_checked(file, data)
    except filelock.Timeout:
        raise ConfigError(f"{file}: locked by another scopegate command; try again") from None
    except OSError as exc:
        raise ConfigError(f"{file}: cannot write environments file: {exc.strerror}") from None
    return load_environments(file)


def _write_checked(file: Path, data: Document) -> None:
    """Refuse a result the reader would refuse (an entry written by hand, say)."""
    parse_environments(data, file, insecure_http_allowed())
    _write(file, data)


def save_environment(name: str, issuer: str, *, client_id: str | None = None,
                     scopes: Iterable[str] = (), default: bool = False, force: bool = False,
                     path: str | os.PathLike[str] | None = None) -> Environment:
    """Add (or with ``force``, replace) one environment; ``default`` makes it the default."""
    checked_name(name)
    entry = _entry(issuer, client_id, scopes)
    file = environments_path(path)

    def change(data: Document) -> None:
        old = data["environments"].get(name)
        if old is not None and not force:
            shown = old.get("issuer", "?") if isinstance(old, dict) else "?"
            raise EnvironmentExists(f"environment {name!r} already exists (issuer {shown}); "
                                    f"add --force to replace it")
        data["environments"][name] = entry
        if default:
            data["default"] = name

    return _change(file, change)[name]


def remove_environment(name: str, path: str | os.PathLike[str] | None = None) -> bool:
    """Remove one environment (and the default naming it); False if there was none."""
    file = environments_path(path)
    if not file.exists():
        return False
    found = False

    def change(data: Document) -> None:
        nonlocal found
        found = data["environments"].pop(name, None) is not None
        if data.get("default") == name:
            del data["default"]

    _change(file, change)
    return found
