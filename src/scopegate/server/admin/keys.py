"""Users' API keys: create, rotate, revoke and list them under :mod:`.key_policy`.

Creating is two steps so every check runs before the one write: :func:`plan_key` reads
the request (scopes, the creating token's cap, lifetime) without the store, then
:func:`store_key` finds the owner's roles, caps the scopes by them and inserts the key.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ...errors import InvalidRequest
from ...scopes import Catalog
from ...store import Database
from ...store.repositories.api_keys import (
    ApiKeyError,
    ApiKeyNotFound,
    ApiKeyRecord,
    ApiKeyRepository,
)
from .errors import NotAMember, NotFound, quoted
from .key_policy import (
    DEFAULT_GRACE,
    MAX_GRACE,
    capped_by_roles,
    capped_by_token,
    effective_key_scopes,
    expiry,
    parse_duration,
    requested_key_scopes,
    scope_fields,
)
from .notify import key_revoked

__all__ = ["KeyPlan", "KeyStore", "NewKey", "grace_period", "key_json", "key_store",
           "list_keys", "owner_id", "plan_key", "revoke_key", "rotate_key", "store_key"]


@dataclass(frozen=True, slots=True)
class NewKey:
    """What a caller asks for: ``scopes`` (or the legacy ``scope``), lifetime, workspace."""

    name: str = ""
    scopes: Sequence[str] | None = None
    scope: str | None = None
    expires_in: int | str | None = None
    expires_at: datetime | None = None
    workspace: str | None = None


@dataclass(frozen=True, slots=True)
class KeyPlan:
    """A checked request: canonical public scopes and the expiry; not yet stored."""

    name: str
    scopes: frozenset[str]
    expires_at: datetime
    workspace: str | None
    #: The creating token's scopes; None for an operator at the CLI.
    token_scopes: frozenset[str] | None = None


#: What the key operations work on (callers only pass it along).
KeyStore = ApiKeyRepository


def key_store(db: Database, prefix: str) -> KeyStore:
    """The key repository these operations take (``prefix``: the keys' visible prefix)."""
    return ApiKeyRepository(db, prefix=prefix)


def plan_key(catalog: Catalog, request: NewKey, now: datetime, *,
             token_scopes: frozenset[str] | None = None) -> KeyPlan:
    """Check a request without the store.

    :param token_scopes: the scopes of the access token creating the key (the key may
        not exceed them); None for an operator at the CLI.
    :raises InvalidRequest: a malformed lifetime or scope field.
    :raises InvalidScope: an unknown, internal or too wide scope.
    """
    wanted = requested_key_scopes(catalog, scopes=request.scopes, scope=request.scope)
    if token_scopes is not None:
        # "all" is checked in store_key, once the owner's roles say what it means.
        capped_by_token(catalog, wanted - catalog.role_relative(wanted), token_scopes)
    expires_at = expiry(now, expires_in=request.expires_in, expires_at=request.expires_at)
    return KeyPlan(request.name, wanted, expires_at, request.workspace, token_scopes)


def owner_id(repo: ApiKeyRepository, email: str) -> str:
    """The id of the user with ``email``.

    :raises NotFound: no such user.
    """
    owner = repo.owner_by_email(email)
    if owner is None:
        raise NotFound(f"no user with email {quoted(email)}")
    return owner[0]


def store_key(repo: ApiKeyRepository, catalog: Catalog, plan: KeyPlan,
              user_id: str) -> tuple[ApiKeyRecord, str]:
    """Cap the plan by the owner's roles (and the workspace's) and store the key once.

    :raises NotFound: the owner no longer exists.
    :raises NotAMember: the owner is not in the plan's workspace.
    :raises InvalidScope: a scope beyond a role.
    """
    roles, workspace_id = owner_roles(repo, user_id, plan.workspace)
    capped_by_roles(catalog, plan.scopes, roles)
    capped_by_token_as_held(catalog, plan.scopes, roles, plan.token_scopes)
    try:
        return repo.create(user_id=user_id, name=plan.name, scopes=plan.scopes,
                           expires_at=plan.expires_at, workspace_id=workspace_id)
    except ApiKeyError as exc:
        raise InvalidRequest(str(exc)) from None


def owner_roles(repo: ApiKeyRepository, user_id: str,
                workspace: str | None) -> tuple[list[str], str | None]:
    """The owner's roles now (theirs, and in ``workspace`` if given) and the workspace id.

    :raises NotFound: the owner no longer exists.
    :raises NotAMember: the owner is not in ``workspace``.
    """
    role = repo.owner_role(user_id)
    if role is None:
        raise NotFound(f"no user {quoted(user_id)}")
    if workspace is None:
        return [role], None
    found = repo.workspace_role(user_id, workspace)
    if found is None:
        raise NotAMember(workspace)
    return [role, found[1]], found[0]


def capped_by_token_as_held(catalog: Catalog, scopes: frozenset[str], roles: list[str],
                            token_scopes: frozenset[str] | None) -> None:
    """A token may hand out "all" only as far as it covers what "all" means for the owner.

    :raises InvalidScope: naming what the owner's "all" holds beyond the token.
    """
    if token_scopes is not None and catalog.role_relative(scopes):
        capped_by_token(catalog, effective_key_scopes(catalog, scopes, roles), token_scopes)


def grace_period(value: int | str | None, *, field: str = "grace_period") -> timedelta:
    """How long a rotated key's old secret keeps working (default 24 h, at most 7 days).

    :raises InvalidRequest: not a duration, or longer than the maximum.
    """
    if value is None:
        return DEFAULT_GRACE
    period = parse_duration(value, field=field)
    if period > MAX_GRACE:
        raise InvalidRequest(f"{field} may be at most {MAX_GRACE.days} days")
    return period


def rotate_key(repo: ApiKeyRepository, catalog: Catalog, key_id: str, grace: timedelta, *,
               user_id: str | None = None,
               token_scopes: frozenset[str] | None = None) -> tuple[ApiKeyRecord, str]:
    """Give a key a new secret; the old one works for ``grace``.

    :param user_id: only this user's key (the API); None for any key (the CLI).
    :param token_scopes: the rotating token's scopes, which must cover the key's.
    :raises NotFound: no such key (of that user).
    """
    try:
        if token_scopes is not None:
            current = repo.get(key_id, user_id=user_id)
            held = catalog.stored_key_scopes(current.scopes)
            capped_by_token(catalog, held - catalog.role_relative(held), token_scopes)
            if catalog.role_relative(held):
                roles, _ = owner_roles(repo, current.user_id, current.workspace_id)
                capped_by_token_as_held(catalog, held, roles, token_scopes)
        return repo.rotate(key_id, grace=grace, user_id=user_id)
    except ApiKeyNotFound as exc:
        raise NotFound(str(exc)) from None
    except ApiKeyError as exc:
        raise InvalidRequest(str(exc)) from None


def revoke_key(repo: ApiKeyRepository, key_id: str, *, user_id: str | None = None) -> None:
    """Revoke a key at once, with any secret still in a grace period (idempotent).

    :raises NotFound: no such key (of that user).
    """
    try:
        repo.revoke(key_id, user_id=user_id)
    except ApiKeyNotFound as exc:
        raise NotFound(str(exc)) from None
    key_revoked(repo.db, key_id)


def list_keys(repo: ApiKeyRepository, *, user_id: str | None = None) -> list[ApiKeyRecord]:
    """Keys, newest first (records carry hashes, never secrets)."""
    return repo.list(user_id=user_id)


def key_json(catalog: Catalog, record: ApiKeyRecord, now: datetime) -> dict[str, Any]:
    """The public view of a key: never a secret nor a hash.

    ``scopes`` is the canonical list, ``scope`` the legacy space-delimited string.
    """
    grace = record.previous_expires_at
    return {
        "id": record.id,
        "name": record.name,
        "hint": f"{record.prefix}_{record.id}…",
        **scope_fields(catalog, record.scopes),
        "workspace": record.workspace_id,
        "status": record.status(now),
        "created_at": record.created_at,
        "expires_at": record.expires_at,
        "last_used_at": record.last_used_at,
        "rotated_at": record.rotated_at,
        "previous_secret_valid_until": grace if grace is not None and grace > now else None,
        "revoked_at": record.revoked_at,
    }
