"""CLI commands: ``users create|list`` and ``workspaces create|list|add-member``.

Passwords are read from standard input only (``--password-stdin``), never from a flag,
so they do not land in shell history or ``ps``. Roles are the catalog's ``[roles]``.
"""

from __future__ import annotations

import sys
from typing import Annotated

import orjson
import typer
from rich.console import Console
from rich.table import Table

from ..server.passwords import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH, hash_password
from ..store.repositories.users import (
    AlreadyExists,
    UserRecord,
    UserRepository,
    WorkspaceRepository,
)
from ._admin_db import (
    EXIT_CODES_HELP,
    CatalogOption,
    DatabaseUrlOption,
    JsonOption,
    checked_name,
    fail,
    load_settings,
    open_catalog,
    open_database,
    store_failures_are_one_line,
)

__all__ = ["register"]

users_app = typer.Typer(help="People who log in (their role caps their tokens).",
                        no_args_is_help=True)
MAX_NAME_LENGTH = 200
MAX_WORKSPACE_NAME_LENGTH = 100  # as WorkspaceRepository.create enforces
workspaces_app = typer.Typer(help="Workspaces (tenants) and their members.",
                             no_args_is_help=True)


def _check_role(role: str, catalog_path: str | None) -> str:
    roles = sorted(open_catalog(catalog_path).roles)
    if role not in roles:
        fail(f"unknown role {role!r}; the catalog defines: {', '.join(roles)}")
    return role


def _user_dict(user: UserRecord) -> dict[str, object]:
    return {"id": user.id, "email": user.email, "name": user.name, "role": user.role,
            "created_at": user.created_at.isoformat()}


def _read_password() -> str:
    raw = sys.stdin.read(MAX_PASSWORD_LENGTH + 2)
    password = raw.removesuffix("\n").removesuffix("\r")
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        fail(f"the password on stdin must be {MIN_PASSWORD_LENGTH} to "
             f"{MAX_PASSWORD_LENGTH} characters")
    return password


@users_app.command("create", epilog=EXIT_CODES_HELP)
@store_failures_are_one_line
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
    db = open_database(load_settings(database_url=database_url, catalog_path=catalog))
    try:
        user = UserRepository(db).create(email=email, password_hash=password_hash, role=role,
                                         name=display_name)
    except AlreadyExists as exc:
        fail(str(exc), code=1)
    except ValueError as exc:
        fail(str(exc))
    finally:
        db.dispose()
    if as_json:
        typer.echo(orjson.dumps(_user_dict(user)).decode())
    else:
        typer.echo(f"created {user.email} ({user.role}) as {user.id}")


@users_app.command("list", epilog=EXIT_CODES_HELP)
@store_failures_are_one_line
def users_list(database_url: DatabaseUrlOption = None, as_json: JsonOption = False) -> None:
    """List users (never their password hashes)."""
    db = open_database(load_settings(database_url=database_url))
    users = UserRepository(db).list()
    db.dispose()
    if as_json:
        typer.echo(orjson.dumps([_user_dict(u) for u in users]).decode())
        return
    table = Table("id", "email", "name", "role")
    for user in users:
        table.add_row(user.id, user.email, user.name or "", user.role)
    Console().print(table)


@workspaces_app.command("create", epilog=EXIT_CODES_HELP)
@store_failures_are_one_line
def workspaces_create(
    name: Annotated[str, typer.Argument(help="The workspace name (unique).")],
    database_url: DatabaseUrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Create a workspace."""
    name = checked_name(name, "a workspace name", MAX_WORKSPACE_NAME_LENGTH)
    db = open_database(load_settings(database_url=database_url))
    try:
        workspace = WorkspaceRepository(db).create(name)
    except AlreadyExists as exc:
        fail(str(exc), code=1)
    except ValueError as exc:
        fail(str(exc))
    finally:
        db.dispose()
    if as_json:
        typer.echo(orjson.dumps({"id": workspace.id, "name": workspace.name}).decode())
    else:
        typer.echo(f"created workspace {workspace.name} as {workspace.id}")


@workspaces_app.command("list", epilog=EXIT_CODES_HELP)
@store_failures_are_one_line
def workspaces_list(database_url: DatabaseUrlOption = None, as_json: JsonOption = False) -> None:
    """List workspaces with their member counts."""
    db = open_database(load_settings(database_url=database_url))
    repo = WorkspaceRepository(db)
    rows = [(w, len(repo.members(w.id))) for w in repo.list()]
    db.dispose()
    if as_json:
        typer.echo(orjson.dumps([{"id": w.id, "name": w.name, "members": n}
                                 for w, n in rows]).decode())
        return
    table = Table("id", "name", "members")
    for workspace, count in rows:
        table.add_row(workspace.id, workspace.name, str(count))
    Console().print(table)


@workspaces_app.command("add-member", epilog=EXIT_CODES_HELP)
@store_failures_are_one_line
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
    db = open_database(load_settings(database_url=database_url, catalog_path=catalog))
    try:
        workspace = WorkspaceRepository(db).by_name(name)
        if workspace is None:
            fail(f"no workspace named {name!r}", code=1)
        user = UserRepository(db).by_email(email)
        if user is None:
            fail(f"no user with email {email!r}", code=1)
        WorkspaceRepository(db).add_member(workspace.id, user.id, role)
    finally:
        db.dispose()
    if as_json:
        typer.echo(orjson.dumps({"workspace_id": workspace.id, "user_id": user.id,
                                 "role": role}).decode())
    else:
        typer.echo(f"{user.email} is now {role} in {workspace.name}")


def register(app: typer.Typer) -> None:
    """Attach ``users`` and ``workspaces`` to the root app."""
    app.add_typer(users_app, name="users")
    app.add_typer(workspaces_app, name="workspaces")
