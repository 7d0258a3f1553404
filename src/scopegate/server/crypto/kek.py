"""Where the key-encryption key comes from: ``SCOPEGATE_KEK``, ``SCOPEGATE_KEK_FILE``, or
(SQLite only) a key file made beside the database on first start.

The local key file keeps ``scopegate serve`` zero set-up; it protects a database copied on
its own (a backup, a stolen file), not one copied with its directory. PostgreSQL databases
are shared and backed up apart from the servers, so there the KEK must be given.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import sqlalchemy as sa

from ...store.sealing import Kek, KekRing, SealError, generate_kek
from ..config.settings import Settings

__all__ = ["Announce", "configured_keks", "load_keks", "local_kek_path", "read_kek_file",
           "write_kek_file"]

Announce = Callable[[str], None]

_logger = logging.getLogger("scopegate.server")


def _log_warning(message: str) -> None:
    _logger.warning(message)


def read_kek_file(path: Path, source: str) -> KekRing:
    """The KEKs in ``path`` (one a line, the sealing one first), or a :class:`SealError`."""
    try:
        text = path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not ASCII"
        raise SealError(f"{source} {path}: {reason}") from None
    return KekRing.parse(text, f"{source} {path}")


def write_kek_file(path: Path, keks: list[str], *, replace: bool = False) -> bool:
    """Write ``keks`` (one a line) to ``path``, mode 0600, never half-written.

    :param replace: overwrite an existing file (atomically); otherwise leave it alone.
    :returns: False if the file existed and ``replace`` is off.
    """
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="ascii") as out:
            os.fchmod(out.fileno(), 0o600)  # whatever the umask
            out.write("".join(k + "\n" for k in keks))
            out.flush()
            os.fsync(out.fileno())
        if replace:
            os.replace(temporary, path)
            return True
        try:
            os.link(temporary, path)  # atomic, and fails if another process made one first
        except FileExistsError:
            return False
        return True
    finally:
        temporary.unlink(missing_ok=True)


def configured_keks(settings: Settings) -> KekRing | None:
    """The KEKs from ``SCOPEGATE_KEK`` or ``SCOPEGATE_KEK_FILE`` (None when neither is set)."""
    if settings.kek and settings.kek_file:
        raise SealError("set SCOPEGATE_KEK or SCOPEGATE_KEK_FILE (--kek-file), not both")
    if settings.kek:
        return KekRing.parse(settings.kek, "SCOPEGATE_KEK")
    if settings.kek_file:
        return read_kek_file(Path(settings.kek_file), "SCOPEGATE_KEK_FILE")
    return None


def local_kek_path(database_url: str) -> Path | None:
    """``<database file>.kek`` for an SQLite file; None for an in-memory database."""
    url = sa.make_url(database_url)
    database = url.database
    if database in (None, "", ":memory:") or url.query.get("mode") == "memory":
        return None
    if database.startswith("file:"):  # an SQLite URI (``?uri=true``), e.g. ``mode=ro``
        database = urlsplit(database).path
    return Path(f"{database}.kek")


def load_keks(settings: Settings, *, may_create: bool,
              announce: Announce | None = None) -> KekRing:
    """The KEKs to seal and open this database's secrets with.

    :param may_create: whether a missing local key file may be made (not when the database
        already holds sealed secrets: a new key would not open them).
    :param announce: how to tell the operator a key file was made (once, when it is);
        a log warning by default.
    :raises SealError: none configured for PostgreSQL, malformed, or the key file missing.
    """
    configured = configured_keks(settings)
    if configured is not None:
        return configured
    url = sa.make_url(settings.database_url)
    if url.get_backend_name() != "sqlite":
        raise SealError(
            f"a {url.get_backend_name()} database needs a key-encryption key kept outside it: "
            "set SCOPEGATE_KEK (base64url of 32 random bytes) or SCOPEGATE_KEK_FILE (make "
            "one with `scopegate secrets generate-kek --output FILE`)")
    path = local_kek_path(settings.database_url)
    if path is None:  # an in-memory database dies with the process, and so may its key
        return KekRing([Kek.from_text(generate_kek(), "memory")], "an in-memory key")
    if path.exists() or not may_create:
        if not path.exists():
            raise SealError(
                f"the secrets in this database are sealed, but its key file {path} is "
                "missing: restore it, or set SCOPEGATE_KEK_FILE or SCOPEGATE_KEK")
        return read_kek_file(path, "key file")
    if write_kek_file(path, [generate_kek()]):
        (announce or _log_warning)(
            f"scopegate: created the key-encryption key file {path} (mode 0600); it seals "
            "the signing keys and secrets in the database. Back it up apart from the "
            "database, or set SCOPEGATE_KEK_FILE to keep it elsewhere.")
    return read_kek_file(path, "key file")
