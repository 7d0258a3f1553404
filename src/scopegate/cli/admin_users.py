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

from ..server.passwords import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH, hash_password
from ..store import Database
from ..store.repositories.users import (
    AlreadyExists,
    UserRecord,
    UserRepository,
    WorkspaceRepository,
)
from ._common import (
    EXIT_FAILED,
    CatalogOption,
    DatabaseUrlOption,
    JsonOption,
    admin_command,
    checked_name,
    fail,
    load_settings,
    open_catalog,
    open_store,
    print_json,
    print_table,
    refusals,
    shown,
)

__all__ = ["EmailOption", "existing_user", "register", "users_app"]

users_app = typer.Typer(help="People who log in (their role caps their tokens).",
                        no_args_is_help=True)
workspaces_app = typer.Typer(help="Workspaces (tenants) and their members.",
                             no_args_is_help=True)
MAX_NAME_LENGTH = 200
MAX_WORKSPACE_NAME_LENGTH = 100  # as WorkspaceRepository.create enforces


def _check_role(role: str, catalog_path: str | None) -> str:
    roles = sorted(open_catalog(catalog_path).roles)
    if role not in roles:
        fail(f"unknown role {shown(role)}; the catalog defines: {', '.join(roles)}")
    return role


def _user_dict(user: UserRecord) -> dict[str, object]:
    return {"id": user.id, "email": user.email, "name": user.name, "role": user.role,
            "created_at": user.created_at.isoformat(),
            "disabled_at": user.disabled_at.isoformat() if user.disabled_at else None}


def existing_user(db: Database, email: str) -> UserRecord:
    """The user with ``email``, or a one-line error (exit 1)."""
    user = UserRepository(db).by_email(email)
    if user is None:
        fail(f"no user with email {shown(email)}", code=EXIT_FAILED)
    return user


def _read_password() -> str:
    try:
        raw = sys.stdin.read(MAX_PASSWORD_LENGTH + 2)
        raw.encode("utf-8")  # a C locale reads bad bytes as surrogates; argon2 would choke
    except UnicodeError:
        fail("the password on stdin is not UTF-8 text")
    password = raw.removesuffix("\n").removesuffix("\r")
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        fail(f"the password on stdin must be {MIN_PASSWORD_LENGTH} to "
             f"{MAX_PASSWORD_LENGTH} characters")
    return password


@admin_command(users_app, "create")
def users_create(
    email: Annotated[str, typer.Option("--email", help="The login email (unique).")],
    password_stdin: Annotated[bool, typer.Option(
        "--password-stdin", help="Read the password from standard input (required).")] = False,
    role: Annotated[str, typer.Option(
        "--role", help="A catalog role, e.g. admin, member or viewer.")] = "member",
    name: Annotated[str | None, typer.Option("--name", help="Display name.")] = None,
    database_url: DatabaseUrlOption = None,
    catalog: CatalogOption = None,
    as_json: JsonOption = False,
) -> None:
    """Create a user with an argon2id password hash."""
    if not password_stdin:
        fail("pass --password-stdin and pipe the password in (it is never a flag)")
    _check_role(role, catalog)
    display_name = None if name is None else checked_name(name, "--name", MAX_NAME_LENGTH)
    password_hash = hash_password(_read_password())
    settings = load_settings(database_url=database_url, catalog_path=catalog)
    with open_store(settings) as db, refusals(conflict=(AlreadyExists,), invalid=(ValueError,)):
        user = UserRepository(db).create(email=email, password_hash=password_hash, role=role,
                                         name=display_name)
    if as_json:
        print_json(_user_dict(user))
    else:
        typer.echo(f"created {user.email} ({user.role}) as {user.id}")


@admin_command(users_app, "list")
def users_list(database_url: DatabaseUrlOption = None, as_json: JsonOption = False) -> None:
    """List users (never their password hashes)."""
    with open_store(load_settings(database_url=database_url)) as db:
        users = UserRepository(db).list()
    if as_json:
        print_json([_user_dict(u) for u in users])
        return
    print_table(("id", "email", "name", "role", "state"),
                ((u.id, u.email, u.name or "", u.role, "disabled" if u.disabled else "active")
                 for u in users))


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
    password_hash = hash_password(_read_password())
    with open_store(load_settings(database_url=database_url)) as db:
        user = existing_user(db, email)
        ended = UserRepository(db).change_password(user.id, password_hash)
    if as_json:
        print_json({"id": user.id, "email": user.email, "sessions_ended": ended})
    else:
        typer.echo(f"changed the password of {user.email}; {ended} session(s) ended")


def _set_disabled(email: str, disabled: bool, database_url: str | None,
                  as_json: bool) -> None:
    with open_store(load_settings(database_url=database_url)) as db:
        user = existing_user(db, email)
        ended = UserRepository(db).set_disabled(user.id, disabled)
    if as_json:
        print_json({"id": user.id, "email": user.email, "disabled": disabled,
                    "sessions_ended": ended})
    elif disabled:
        typer.echo(f"disabled {user.email}; {ended} session(s) ended")
    else:
        typer.echo(f"enabled {user.email}")


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
    settings = load_settings(database_url=database_url)
    with open_store(settings) as db, refusals(conflict=(AlreadyExists,), invalid=(ValueError,)):
        workspace = WorkspaceRepository(db).create(name)
    if as_json:
        print_json({"id": workspace.id, "name": workspace.name})
    else:
        typer.echo(f"created workspace {workspace.name} as {workspace.id}")


@admin_command(workspaces_app, "list")
def workspaces_list(database_url: DatabaseUrlOption = None, as_json: JsonOption = False) -> None:
    """List workspaces with their member counts."""
    with open_store(load_settings(database_url=database_url)) as db:
        repo = WorkspaceRepository(db)
        rows = [(w, len(repo.members(w.id))) for w in repo.list()]
    if as_json:
        print_json([{"id": w.id, "name": w.name, "members": n} for w, n in rows])
        return
    print_table(("id", "name", "members"), ((w.id, w.name, str(n)) for w, n in rows))


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
    with open_store(load_settings(database_url=database_url, catalog_path=catalog)) as db:
        workspace = WorkspaceRepository(db).by_name(name)
        if workspace is None:
            fail(f"no workspace named {shown(name)}", code=EXIT_FAILED)
        user = existing_user(db, email)
        WorkspaceRepository(db).add_member(workspace.id, user.id, role)
    if as_json:
        print_json({"workspace_id": workspace.id, "user_id": user.id, "role": role})
    else:
        typer.echo(f"{user.email} is now {role} in {workspace.name}")


def register(app: typer.Typer) -> None:
    """Attach ``users`` and ``workspaces`` to the root app."""
    app.add_typer(users_app, name="users")
    app.add_typer(workspaces_app, name="workspaces")
