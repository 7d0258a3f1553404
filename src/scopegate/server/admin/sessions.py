"""A user's browser sessions: list them, end them.

Ending a session deletes its row, so every copy of its cookie is signed out at the next
page request, on every replica. A session is named by its public id (``ses_…``).

Ending one session from the sessions list is also the revocation of what was approved
in it: tokens issued through it carry its id as ``sid``. Signing out (``POST /logout``)
is not: it only ends the browser's session, as signing out of github.com leaves the gh
CLI logged in; the tokens a CLI got through that browser keep working.
"""

from __future__ import annotations

from ...store import Database
from ...store.repositories.sessions import SessionRecord, SessionRepository
from ...store.repositories.users import UserRecord
from .errors import NotFound, quoted
from .notify import session_ended, user_cut_off

__all__ = ["end_sessions", "list_sessions"]


def list_sessions(db: Database, user: UserRecord) -> list[SessionRecord]:
    """The user's live sessions, oldest first."""
    return SessionRepository(db).for_user(user.id)


def end_sessions(db: Database, user: UserRecord, session_id: str | None = None) -> int:
    """End all of the user's sessions, or only ``session_id``; return how many ended.

    Ending all of them cuts the user off: every token issued to them so far is denied.
    Ending one revokes what was approved in it, in the same transaction: its refresh
    families (their access tokens are deny-listed), its codes not yet exchanged and its
    device approvals not yet collected; then every guard and replica is told to deny
    tokens carrying its ``sid``. The user's other sessions and their tokens are untouched.

    :raises NotFound: ``session_id`` is not a live session of this user.
    """
    repository = SessionRepository(db)
    if session_id is None:
        ended = repository.end_for_user(user.id)
        user_cut_off(db, user.id)
        return ended
    if repository.end_with_grants(user.id, session_id) is None:
        raise NotFound(f"no session {quoted(session_id)} for {user.email}")
    session_ended(db, session_id)
    return 1
