"""Telling "the database cannot be reached" from any other database error, and its end.

A statement that fails (a constraint, a lock timeout, a bug) is an error of that request.
A database that refuses connections, drops them, or whose file cannot be opened is an
outage: every request needing it fails the same way until it returns, so callers answer
"try again later" and the server logs the outage once, not once per request.
:class:`Availability` records the transitions; :class:`~scopegate.store.Database` feeds it.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

__all__ = ["Availability", "AvailabilityChange", "is_unreachable"]

# SQLite: the file or its directory is gone, unreadable, or the disk failed.
_SQLITE_UNREACHABLE = ("unable to open database file", "disk i/o error")
# PostgreSQL SQLSTATEs besides class 08 (connection exception): the server is shutting
# down, crashed, is starting up or recovering, or has no connection slot left.
_PG_UNREACHABLE = frozenset({"57P01", "57P02", "57P03", "53300"})


def is_unreachable(exc: BaseException, dialect: Dialect) -> bool:
    """Whether ``exc`` says the database cannot be reached, rather than a statement failed.

    Only ever called on the exception path.
    """
    if not isinstance(exc, sa.exc.DBAPIError):
        return False
    if exc.connection_invalidated:  # SQLAlchemy saw the connection die mid-use
        return True
    orig = exc.orig
    if isinstance(orig, sqlite3.Error):
        return any(text in str(orig).lower() for text in _SQLITE_UNREACHABLE)
    try:
        if dialect.is_disconnect(orig, None, None):  # type: ignore[arg-type]
            return True
    except Exception:  # a dialect heuristic failing must not hide the real error
        return False
    sqlstate = getattr(orig, "sqlstate", None)
    if sqlstate is None:
        # A driver error with no server code comes from the client side of the socket:
        # connection refused, timed out, host unknown, server closed the connection.
        return isinstance(exc, sa.exc.OperationalError | sa.exc.InterfaceError)
    return str(sqlstate).startswith("08") or sqlstate in _PG_UNREACHABLE


@dataclass(frozen=True, slots=True)
class AvailabilityChange:
    """The database became unreachable (``available`` False, with ``reason``) or came back
    (``available`` True, after ``down_for_s`` seconds)."""

    available: bool
    reason: str = ""
    down_for_s: float = 0.0


Listener = Callable[[AvailabilityChange], None]


class Availability:
    """Whether the database is reachable, as the last database work found it.

    ``listener`` hears each change once, however many threads see it at the same time.
    A unit of work reads :attr:`epoch` when it starts and passes it to :meth:`restored`
    when it succeeds: one that started before the outage proves nothing about its end.
    """

    def __init__(self, listener: Listener | None = None) -> None:
        self.listener = listener
        self.down = False
        self.epoch = 0
        self._since = 0.0
        self._lock = threading.Lock()

    def lost(self, exc: BaseException) -> None:
        """Record that the database could not be reached (``exc`` says why)."""
        with self._lock:
            if self.down:
                return
            self.down, self._since = True, time.monotonic()
            self.epoch += 1
        orig = getattr(exc, "orig", None) or exc
        self._notify(AvailabilityChange(False, reason=" ".join(str(orig).split())[:300]))

    def restored(self, epoch: int) -> None:
        """Record that work started in ``epoch`` succeeded: the database is back."""
        with self._lock:
            if not self.down or epoch != self.epoch:
                return
            self.down = False
            down_for = time.monotonic() - self._since
        self._notify(AvailabilityChange(True, down_for_s=round(down_for, 3)))

    def _notify(self, change: AvailabilityChange) -> None:
        if self.listener is not None:
            self.listener(change)
