"""CLI commands: ``users sessions`` and ``users end-sessions``.

A session is a signed-in browser. Ending one deletes its row, so every copy of its
cookie is signed out at the next page request, on every replica. A session is named by
its public id (``ses_…``); the cookie's token is never stored or shown.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer

from ..server.admin.sessions import end_sessions, list_sessions
from ..server.admin.users import find_user
from ..store.repositories.sessions import SessionRecord
from ._common import (
    DatabaseUrlOption,
    JsonOption,
    admin_command,
    load_settings,
    open_store,
    print_json,
    print_table,
    refusals,
)
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
    with open_store(load_settings(database_url=database_url)) as db, refusals():
        records = list_sessions(db, find_user(db, email))
    if as_json:
        print_json([_session_dict(r) for r in records])
        return
    print_table(("id", "signed in", "last seen", "ends by", "address", "browser"), (
        (r.id, _when(r.created_at), _when(r.last_seen_at), _when(r.expires_at),
         r.client_ip or "", (r.user_agent or "")[:40]) for r in records))


def users_end_sessions(
    email: EmailOption,
    session_id: Annotated[str | None, typer.Option(
        "--session", help="End only this session (an id from `users sessions`).")] = None,
    database_url: DatabaseUrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """End a user's browser sessions (all of them, or one with --session)."""
    with open_store(load_settings(database_url=database_url)) as db, refusals():
        user = find_user(db, email)
        ended = end_sessions(db, user, session_id)
    if as_json:
        print_json({"ended": ended})
    else:
        typer.echo(f"{ended} session(s) ended for {user.email}")


def register(app: typer.Typer) -> None:
    """Attach ``sessions`` and ``end-sessions`` to the ``users`` group."""
    del app  # they live under `scopegate users`, which admin_users attaches
    admin_command(users_app, "sessions")(users_sessions)
    admin_command(users_app, "end-sessions")(users_end_sessions)
