"""CLI commands: ``users sessions`` and ``users end-sessions``.

A session is a signed-in browser. Ending one deletes its row, so every copy of its
cookie is signed out at the next page request, on every replica. Ending one with
``--session`` also revokes the tokens issued through it (their ``sid``); ending all of
them cuts the user off. A session is named by its public id (``ses_…``); the cookie's
token is never stored or shown.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer

from ..server.admin.sessions import end_sessions, list_sessions
from ..server.admin.users import find_user
from ..store.repositories.sessions import SessionRecord
from ._common import (
    admin_command,
    store_at,
)
from ._options import DatabaseUrlOption, JsonOption
from ._output import print_listing, print_result
from .admin_users import EmailOption, users_app

__all__ = ["register"]


def _session_dict(record: SessionRecord) -> dict[str, object]:
    return {"id": record.id, "created_at": record.created_at.isoformat(),
            "last_seen_at": record.last_seen_at.isoformat(),
            "expires_at": record.expires_at.isoformat(), "client_ip": record.client_ip,
            "user_agent": record.user_agent}


def _when(value: datetime) -> str:
    return value.isoformat(timespec="seconds")


def users_sessions(email: EmailOption, database_url: DatabaseUrlOption = None,
                   as_json: JsonOption = False) -> None:
    """List a user's live browser sessions, oldest first."""
    with store_at(database_url) as db:
        records = list_sessions(db, find_user(db, email))
    print_listing(as_json, records, view=_session_dict,
                  columns=("id", "signed in", "last seen", "ends by", "address", "browser"),
                  row=lambda r: (r.id, _when(r.created_at), _when(r.last_seen_at),
                                 _when(r.expires_at), r.client_ip or "",
                                 (r.user_agent or "")[:40]))


def users_end_sessions(
    email: EmailOption,
    session_id: Annotated[str | None, typer.Option(
        "--session", help="End only this session (an id from `users sessions`) and revoke "
                          "the tokens issued through it.")] = None,
    database_url: DatabaseUrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """End a user's browser sessions (all of them, or one with --session, revoking the
    tokens issued through it)."""
    with store_at(database_url) as db:
        user = find_user(db, email)
        ended = end_sessions(db, user, session_id)
    print_result(as_json, {"ended": ended}, f"{ended} session(s) ended for {user.email}")


def register(app: typer.Typer) -> None:
    """Attach ``sessions`` and ``end-sessions`` to the ``users`` group."""
    del app  # they live under `scopegate users`, which admin_users attaches
    admin_command(users_app, "sessions")(users_sessions)
    admin_command(users_app, "end-sessions")(users_end_sessions)
