"""A user's browser sessions: list them, end them.

Ending a session deletes its row, so every copy of its cookie is signed out at the next
page request, on every replica. A session is named by its public id (``ses_…``).
"""

from __future__ import annotations

from ...store import Database
from ...store.repositories.sessions import SessionRecord, SessionRepository
from ...store.repositories.users import UserRecord
from .errors import NotFound, quoted
from .notify import user_cut_off

__all__ = ["end_sessions", "list_sessions"]


def list_sessions(db: Database, user: UserRecord) -> list[SessionRecord]:
    """The user's live sessions, oldest first."""
    return SessionRepository(db).for_user(user.id)


def end_sessions(db: Database, user: UserRecord, session_id: str | None = None) -> int:
    """End all of the user's sessions, or only ``session_id``; return how many ended.

    :raises NotFound: ``session_id`` is not a live session of this user.
    """
    ended = SessionRepository(db).end_for_user(user.id, session_id)
    if session_id is not None and not ended:
        raise NotFound(f"no session {quoted(session_id)} for {user.email}")
    if session_id is None:
        user_cut_off(db, user.id)  # access tokens carry no session id: end them by subject
    return ended
