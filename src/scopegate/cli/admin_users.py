"""CLI commands: ``users create|list|set-password|disable|enable`` and
``workspaces create|list|add-member``.

A new password or a disabled user ends every browser session of that user at once
(on every replica: the sessions are rows in the database).

Passwords are read from standard input only (``--password-stdin``), never from a flag,
so they do not land in shell history or ``ps``. Roles are the catalog's ``[roles]``.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from ..server.admin.users import (
    MAX_WORKSPACE_NAME_LENGTH,
    add_member,
    checked_role,
    create_user,
    create_workspace,
    find_user,
    list_users,
    list_workspaces,
    password_hash,
    set_disabled,
    set_password,
)
from ..server.crypto.passwords import MAX_PASSWORD_LENGTH
from ..store.repositories.users import UserRecord
from ._common import (
    admin_command,
    checked_name,
    fail,
    open_catalog,
    refusals,
    store_at,
)
from ._options import CatalogOption, DatabaseUrlOption, JsonOption
from ._output import print_listing, print_result

__all__ = ["EmailOption", "register", "users_app"]

users_app = typer.Typer(help="People who log in (their role caps their tokens).",
                        no_args_is_help=True)
workspaces_app = typer.Typer(help="Workspaces (tenants) and their members.",
                             no_args_is_help=True)
MAX_NAME_LENGTH = 200


def _check_role(role: str, catalog_path: str | None) -> str:
    with refusals():
        return checked_role(open_catalog(catalog_path), role)


def _user_dict(user: UserRecord) -> dict[str, object]:
    return {"id": user.id, "email": user.email, "name": user.name, "role": user.role,
            "created_at": user.created_at.isoformat(),
            "disabled_at": user.disabled_at.isoformat() if user.disabled_at else None,
            "operator": user.is_operator}


def _password_hash_from_stdin() -> str:
    """Read the password from stdin and hash it, or a one-line error (exit 2)."""
    try:
        raw = sys.stdin.read(MAX_PASSWORD_LENGTH + 2)
        raw.encode("utf-8")  # a C locale reads bad bytes as surrogates; argon2 would choke
    except UnicodeError:
        fail("the password on stdin is not UTF-8 text")
    with refusals():
        return password_hash(raw.removesuffix("\n").removesuffix("\r"))


@admin_command(users_app, "create")
def users_create(
    email: Annotated[str, typer.Option("--email", help="The login email (unique).")],
    password_stdin: Annotated[bool, typer.Option(
        "--password-stdin", help="Read the password from standard input (required).")] = False,
    role: Annotated[str, typer.Option(
        "--role", help="A catalog role, e.g. admin, member or viewer.")] = "member",
    name: Annotated[str | None, typer.Option("--name", help="Display name.")] = None,
    operator: Annotated[bool, typer.Option(
        "--admin", help="An operator of this server: may open the /admin console.")] = False,
    database_url: DatabaseUrlOption = None,
    catalog: CatalogOption = None,
    as_json: JsonOption = False,
) -> None:
    """Create a user with an argon2id password hash."""
    if not password_stdin:
        fail("pass --password-stdin and pipe the password in (it is never a flag)")
    _check_role(role, catalog)
    display_name = None if name is None else checked_name(name, "--name", MAX_NAME_LENGTH)
    hashed = _password_hash_from_stdin()
    with store_at(database_url, catalog) as db:
        user = create_user(db, email=email, password_hash=hashed, role=role,
                           name=display_name, operator=operator)
    kind = f"{user.role}, operator" if user.is_operator else user.role
    print_result(as_json, _user_dict(user), f"created {user.email} ({kind}) as {user.id}")


@admin_command(users_app, "list")
def users_list(database_url: DatabaseUrlOption = None, as_json: JsonOption = False) -> None:
    """List users (never their password hashes)."""
    with store_at(database_url) as db:
        users = list_users(db)
    print_listing(as_json, users, view=_user_dict, columns=("id", "email", "name", "role", "state"),
                  row=lambda u: (u.id, u.email, u.name or "", u.role,
                                 "disabled" if u.disabled else "active"))


EmailOption = Annotated[str, typer.Option("--email", help="The user's email.")]


@admin_command(users_app, "set-password")
def users_set_password(
    email: EmailOption,
    password_stdin: Annotated[bool, typer.Option(
        "--password-stdin", help="Read the new password from standard input (required).")
    ] = False,
    database_url: DatabaseUrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Set a new password; every browser session of the user ends."""
    if not password_stdin:
        fail("pass --password-stdin and pipe the password in (it is never a flag)")
    hashed = _password_hash_from_stdin()
    with store_at(database_url) as db:
        user = find_user(db, email)
        ended = set_password(db, user, hashed)
    print_result(as_json, {"id": user.id, "email": user.email, "sessions_ended": ended},
                 f"changed the password of {user.email}; {ended} session(s) ended")


def _set_disabled(email: str, disabled: bool, database_url: str | None,
                  as_json: bool) -> None:
    with store_at(database_url) as db:
        user = find_user(db, email)
        ended = set_disabled(db, user, disabled)
    print_result(as_json, {"id": user.id, "email": user.email, "disabled": disabled,
                           "sessions_ended": ended},
                 f"disabled {user.email}; {ended} session(s) ended" if disabled
                 else f"enabled {user.email}")


@admin_command(users_app, "disable")
def users_disable(email: EmailOption, database_url: DatabaseUrlOption = None,
                  as_json: JsonOption = False) -> None:
    """Disable a user: no sign-in, no tokens; every browser session of theirs ends."""
    _set_disabled(email, True, database_url, as_json)


@admin_command(users_app, "enable")
def users_enable(email: EmailOption, database_url: DatabaseUrlOption = None,
                 as_json: JsonOption = False) -> None:
    """Enable a disabled user again (they sign in anew)."""
    _set_disabled(email, False, database_url, as_json)


@admin_command(workspaces_app, "create")
def workspaces_create(
    name: Annotated[str, typer.Argument(help="The workspace name (unique).")],
    database_url: DatabaseUrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Create a workspace."""
    name = checked_name(name, "a workspace name", MAX_WORKSPACE_NAME_LENGTH)
    with store_at(database_url) as db:
        workspace = create_workspace(db, name)
    print_result(as_json, {"id": workspace.id, "name": workspace.name},
                 f"created workspace {workspace.name} as {workspace.id}")


@admin_command(workspaces_app, "list")
def workspaces_list(database_url: DatabaseUrlOption = None, as_json: JsonOption = False) -> None:
    """List workspaces with their member counts."""
    with store_at(database_url) as db:
        rows = list_workspaces(db)
    print_listing(as_json, rows, view=lambda r: {"id": r[0].id, "name": r[0].name,
                                                 "members": r[1]},
                  columns=("id", "name", "members"), row=lambda r: (r[0].id, r[0].name, str(r[1])))


@admin_command(workspaces_app, "add-member")
def workspaces_add_member(
    name: Annotated[str, typer.Argument(help="The workspace name.")],
    email: Annotated[str, typer.Option("--email", help="The user's email.")],
    role: Annotated[str, typer.Option("--role", help="A catalog role.")] = "member",
    database_url: DatabaseUrlOption = None,
    catalog: CatalogOption = None,
    as_json: JsonOption = False,
) -> None:
    """Add a user to a workspace (or change their role there)."""
    _check_role(role, catalog)
    with store_at(database_url, catalog) as db:
        workspace, user, _ = add_member(db, name, email, role)
    print_result(as_json, {"workspace_id": workspace.id, "user_id": user.id, "role": role},
                 f"{user.email} is now {role} in {workspace.name}")


def register(app: typer.Typer) -> None:
    """Attach ``users`` and ``workspaces`` to the root app."""
    app.add_typer(users_app, name="users")
    app.add_typer(workspaces_app, name="workspaces")
