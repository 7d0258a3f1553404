"""Where the token cache persists: the OS keyring, else a 0600 file, or memory only.

A store holds one document {cache_key: token entry}. A stored document that cannot be
used (not JSON, nested too deeply, over 4 MB) never stops a command: a file is set
aside with one warning, a keyring secret is ignored until the next save replaces it.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import filelock

from ._config_files import KEYRING_SERVICE, keyring_call, warn_if_open
from ._exceptions import TokenStoreError

__all__ = ["Document", "FileTokenStore", "KeyringFallbackWarning", "KeyringTokenStore",
           "MemoryTokenStore", "PersistentTokenStore", "TokenStore"]

log = logging.getLogger("scopegate.client")

_FORMAT_VERSION = 2
_KEYRING_USER = "token-cache"
_MAX_STORE_BYTES = 4_000_000

Document = dict[str, dict[str, Any]]


class KeyringFallbackWarning(UserWarning):
    """The OS keyring is unusable, so tokens are kept in a 0600 file instead."""


class TokenStore(Protocol):
    """Where tokens persist: ``load`` returns {cache_key: entry}; ``update`` rewrites it."""

    def load(self) -> Document:
        """Return the stored entries (cheap when nothing changed)."""
        ...

    def update(self, change: Callable[[Document], None]) -> None:
        """Apply ``change`` to the freshest entries and store the result atomically."""
        ...


class MemoryTokenStore:
    """A store that keeps nothing beyond the process (tests, or ``persist=False``)."""

    def __init__(self) -> None:
        self._doc: Document = {}

    def load(self) -> Document:
        """Return the entries (the same object until the next update)."""
        return self._doc

    def update(self, change: Callable[[Document], None]) -> None:
        """Apply ``change`` to a copy and keep it."""
        doc = dict(self._doc)
        change(doc)
        self._doc = doc


class _Unreadable(Exception):
    """A stored token cache that cannot be used; the message says why."""


def _parse_document(raw: bytes | str) -> Document:
    """Return the entries of a stored cache, or raise :class:`_Unreadable`."""
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise _Unreadable("not valid JSON") from None
    except RecursionError:  # the decoder recurses once per nesting level
        raise _Unreadable("nested too deeply") from None
    if not isinstance(data, dict) or not isinstance(data.get("tokens", {}), dict):
        raise _Unreadable("not a token cache")
    entries = data.get("tokens", {})
    return {k: v for k, v in entries.items() if isinstance(k, str) and isinstance(v, dict)}


def _dump_document(doc: Document) -> str:
    return json.dumps({"version": _FORMAT_VERSION, "tokens": doc}, sort_keys=True)


class FileTokenStore:
    """A JSON file with mode 0600, replaced atomically under a file lock.

    It is re-read only when its mtime, size or inode changed since the last read. A file
    that cannot be used (not JSON, too deep, over 4 MB) is renamed aside to
    ``<name>.corrupt-<UTC time>`` with one warning, and the cache starts empty.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._lock = filelock.FileLock(str(self.path) + ".lock", timeout=30, thread_local=False)
        self._guard = threading.Lock()
        self._seen: tuple[int, int, int] | None = None
        self._doc: Document = {}
        self.reads = 0

    def _stamp(self) -> tuple[int, int, int] | None:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return None
        return (st.st_mtime_ns, st.st_size, st.st_ino)

    def load(self) -> Document:
        """Return the entries, re-reading the file only if it changed.

        The same object comes back while the file is unchanged; callers must not mutate it.
        """
        with self._guard:
            stamp = self._stamp()
            if stamp is None:
                self._seen, self._doc = None, {}
            elif stamp != self._seen:
                self.reads += 1
                self._doc = self._read(stamp)
                self._seen = stamp
            return self._doc

    def _read(self, stamp: tuple[int, int, int]) -> Document:
        try:
            with self.path.open("rb") as handle:
                mode = os.fstat(handle.fileno()).st_mode
                raw = handle.read(_MAX_STORE_BYTES + 1)
        except FileNotFoundError:
            return {}
        except OSError as exc:
            raise TokenStoreError(
                f"{self.path}: cannot read token cache: {exc.strerror}"
            ) from None
        try:
            if len(raw) > _MAX_STORE_BYTES:
                raise _Unreadable("larger than 4 MB")
            doc = _parse_document(raw)
        except _Unreadable as exc:
            self._set_aside(str(exc), stamp)
            return {}
        warn_if_open(self.path, mode, "token cache")
        return doc

    def _set_aside(self, problem: str, stamp: tuple[int, int, int]) -> None:
        """Move an unusable cache out of the way (kept for a post-mortem), saying so once."""
        when = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        aside = self.path.with_name(f"{self.path.name}.corrupt-{when}")
        if aside.exists():
            aside = aside.with_name(f"{aside.name}-{os.getpid()}")
        try:
            with self._lock:  # reentrant: update() may already hold it
                if self._stamp() != stamp:
                    return  # another process moved or replaced it meanwhile
                self.path.rename(aside)
        except (OSError, filelock.Timeout) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else "it is locked"
            log.warning("%s: token cache is %s; ignoring it (could not move it aside: %s)",
                        self.path, problem, reason)
            return
        log.warning("%s: token cache was %s; moved it to %s and started a new one",
                    self.path, problem, aside.name)

    def update(self, change: Callable[[Document], None]) -> None:
        """Re-read under the lock, apply ``change``, write a 0600 temp file, then replace."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            with self._lock:
                doc = dict(self.load())
                change(doc)
                self._write(doc)
                with self._guard:
                    self._doc, self._seen = doc, self._stamp()
        except filelock.Timeout:
            raise TokenStoreError(
                f"{self.path}: token cache is locked by another process"
            ) from None
        except OSError as exc:  # e.g. a read-only config directory: the lock file
            raise TokenStoreError(
                f"{self.path}: cannot write token cache: {exc.strerror or exc}"
            ) from None

    def _write(self, doc: Document) -> None:
        fd, tmp = tempfile.mkstemp(prefix=".tokens-", suffix=".tmp", dir=self.path.parent)
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(_dump_document(doc))
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
        except OSError as exc:
            Path(tmp).unlink(missing_ok=True)
            raise TokenStoreError(
                f"{self.path}: cannot write token cache: {exc.strerror}"
            ) from None


class KeyringTokenStore:
    """All entries as one JSON secret in the OS keyring; every call has a hard timeout."""

    def __init__(self, service: str = KEYRING_SERVICE, timeout: float = 2.0,
                 entry: str = _KEYRING_USER) -> None:
        self.service = service
        self.timeout = timeout
        self.entry = entry
        self.reads = 0

    def load(self) -> Document:
        """Read the secret (raises on timeout or keyring failure)."""
        import keyring

        self.reads += 1
        raw = keyring_call(lambda: keyring.get_password(self.service, self.entry), self.timeout)
        if not raw:
            return {}
        try:
            return _parse_document(raw)
        except _Unreadable as exc:  # the next save replaces it
            log.warning("keyring:%s: token cache is %s; ignoring it", self.service, exc)
            return {}

    def update(self, change: Callable[[Document], None]) -> None:
        """Read, apply ``change`` and write the secret back."""
        import keyring

        doc = self.load()
        change(doc)
        payload = _dump_document(doc)
        keyring_call(
            lambda: keyring.set_password(self.service, self.entry, payload), self.timeout
        )


_announced = False
_announce_lock = threading.Lock()


def _announce_fallback(reason: str, path: Path) -> None:
    global _announced
    with _announce_lock:
        if _announced:
            return
        _announced = True
    message = f"OS keyring unavailable ({reason}); storing tokens in {path} (mode 0600)"
    # One channel, read once: the app's logging if any, else a warning (with no handler,
    # logging's last resort would print it a second time).
    if log.hasHandlers():
        log.warning(message)
    else:
        warnings.warn(message, KeyringFallbackWarning, stacklevel=4)


class PersistentTokenStore:
    """The OS keyring, or, once it fails or hangs, the 0600 file (announced once)."""

    def __init__(self, file_path: Path, *, use_keyring: bool = True, timeout: float = 2.0,
                 keyring_entry: str = _KEYRING_USER) -> None:
        self.file = FileTokenStore(file_path)
        self.keyring: KeyringTokenStore | None = (
            KeyringTokenStore(timeout=timeout, entry=keyring_entry) if use_keyring else None
        )

    def _fall_back(self, exc: BaseException) -> None:
        self.keyring = None
        # Backends explain at length; the first sentence says enough.
        reason = (str(exc) or type(exc).__name__).split(". ")[0].rstrip(".")
        _announce_fallback(reason, self.file.path)

    def load(self) -> Document:
        """Load from the keyring, or from the file after falling back."""
        if self.keyring is not None:
            try:
                return self.keyring.load()
            except Exception as exc:
                self._fall_back(exc)
        return self.file.load()

    def update(self, change: Callable[[Document], None]) -> None:
        """Update the keyring secret, or the file after falling back."""
        if self.keyring is not None:
            try:
                self.keyring.update(change)
                return
            except Exception as exc:
                self._fall_back(exc)
        self.file.update(change)
