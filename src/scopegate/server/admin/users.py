"""People and workspaces: create a user, set a password, disable or enable, workspaces.

A new password or a disabled user ends every browser session of that user in the same
transaction (on every replica: the sessions are rows in the database). Passwords arrive
as text and leave only as argon2id hashes; roles are the catalog's ``[roles]``.
"""

from __future__ import annotations

from ...scopes import Catalog
from ...store import Database
from ...store.repositories.users import AlreadyExists, UserRecord, UserRepository
from ...store.repositories.workspaces import (
    MembershipRecord,
    WorkspaceRecord,
    WorkspaceRepository,
)
from ..crypto.passwords import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH, hash_password
from .errors import Conflict, Invalid, NotFound, quoted
from .notify import user_cut_off

__all__ = ["MAX_WORKSPACE_NAME_LENGTH", "add_member", "checked_role", "create_user",
           "create_workspace", "find_user", "list_users", "list_workspaces",
           "password_hash", "set_disabled", "set_password"]

MAX_WORKSPACE_NAME_LENGTH = 100  # as WorkspaceRepository.create enforces


def checked_role(catalog: Catalog, role: str) -> str:
    """``role`` if the catalog defines it.

    :raises Invalid: naming the roles there are.
    """
    roles = sorted(catalog.roles)
    if role not in roles:
        raise Invalid(f"unknown role {quoted(role)}; the catalog defines: {', '.join(roles)}")
    return role


def password_hash(password: str) -> str:
    """An argon2id hash of a password of acceptable length.

    :raises Invalid: too short or too long.
    """
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        raise Invalid(f"the password must be {MIN_PASSWORD_LENGTH} to "
                      f"{MAX_PASSWORD_LENGTH} characters")
    return hash_password(password)


def create_user(db: Database, *, email: str, password_hash: str, role: str,
                name: str | None = None, operator: bool = False) -> UserRecord:
    """Store a user (check the role with :func:`checked_role` first); an ``operator`` may
    open the ``/admin`` console.

    :raises Invalid: a malformed email.
    :raises Conflict: the email is taken.
    """
    try:
        return UserRepository(db).create(email=email, password_hash=password_hash,
                                         role=role, name=name, is_operator=operator)
    except AlreadyExists as exc:
        raise Conflict(str(exc)) from None
    except ValueError as exc:
        raise Invalid(str(exc)) from None


def find_user(db: Database, email: str) -> UserRecord:
    """The user with ``email`` (any case).

    :raises NotFound: no such user.
    """
    user = UserRepository(db).by_email(email)
    if user is None:
        raise NotFound(f"no user with email {quoted(email)}")
    return user


def list_users(db: Database) -> list[UserRecord]:
    """Every user, oldest first (records carry no password hash)."""
    return UserRepository(db).list()


def set_password(db: Database, user: UserRecord, password_hash: str) -> int:
    """Set a new password and end the user's sessions at once; return how many ended."""
    ended = UserRepository(db).change_password(user.id, password_hash)
    user_cut_off(db, user.id)
    return ended


def set_disabled(db: Database, user: UserRecord, disabled: bool) -> int:
    """Disable a user (ending their sessions) or enable them; return how many ended."""
    ended = UserRepository(db).set_disabled(user.id, disabled)
    if disabled:
        user_cut_off(db, user.id)
    return ended


def create_workspace(db: Database, name: str) -> WorkspaceRecord:
    """Store a workspace.

    :raises Invalid: an empty or too long name.
    :raises Conflict: the name is taken.
    """
    try:
        return WorkspaceRepository(db).create(name)
    except AlreadyExists as exc:
        raise Conflict(str(exc)) from None
    except ValueError as exc:
        raise Invalid(str(exc)) from None


def list_workspaces(db: Database) -> list[tuple[WorkspaceRecord, int]]:
    """Every workspace by name, with its member count."""
    repo = WorkspaceRepository(db)
    return [(w, len(repo.members(w.id))) for w in repo.list()]


def add_member(db: Database, workspace_name: str, email: str,
               role: str) -> tuple[WorkspaceRecord, UserRecord, MembershipRecord]:
    """Add a user to a workspace, or change their role there.

    :raises NotFound: no such workspace or user.
    """
    workspace = WorkspaceRepository(db).by_name(workspace_name)
    if workspace is None:
        raise NotFound(f"no workspace named {quoted(workspace_name)}")
    user = find_user(db, email)
    membership = WorkspaceRepository(db).add_member(workspace.id, user.id, role)
    return workspace, user, membership
