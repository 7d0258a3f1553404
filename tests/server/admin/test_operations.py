"""The admin operations on a real database: bad input is one clear refusal and nothing
is stored; good input is stored once."""

from __future__ import annotations

import uuid

import pytest

from scopegate.errors import InvalidScope
from scopegate.server.admin import keys, sessions, users
from scopegate.server.admin.client_spec import client_spec
from scopegate.server.admin.clients import (
    delete_client,
    list_clients,
    register_client,
    rotate_client_secret,
)
from scopegate.server.admin.errors import Conflict, Invalid, NotAMember, NotFound
from scopegate.server.state import ServerState

HASH = "argon2-hash-placeholder"


def _email() -> str:
    return f"u{uuid.uuid4().hex[:10]}@example.org"


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"name": " "}, "--name must be 1 to 200 characters"),
    ({"name": "x", "grants": ["password"]}, "unknown grant type"),
    ({"name": "x", "public": True}, "public client cannot use client_credentials"),
    ({"name": "x", "grants": ["authorization_code"]}, "needs at least one --redirect-uri"),
    ({"name": "x", "grants": ["authorization_code"], "redirect_uris": ["http://a.example/"]},
     "loopback"),
    ({"name": "x", "resource_servers": ["api.example"]}, "absolute URI"),
    ({"name": "x", "scopes": ["nope"]}, "unknown scope"),
    ({"name": "x", "scopes": []}, "at least one --scope"),
])
def test_a_bad_client_is_refused_before_the_store(state: ServerState,
                                                  kwargs: dict[str, object],
                                                  message: str) -> None:
    before = list_clients(state.db)
    with pytest.raises(Invalid, match=message.replace("(", r"\(")):
        client_spec(state.catalog, **kwargs)  # type: ignore[arg-type]
    assert list_clients(state.db) == before


def test_register_rotate_delete(state: ServerState) -> None:
    spec = client_spec(state.catalog, name="bot", scopes=["api", "apps:read"])
    record, secret = register_client(state.db, state.pepper, spec)
    assert record.default_scopes == {"api"} and not record.is_public
    new_secret = rotate_client_secret(state.db, state.pepper, record.client_id)
    assert new_secret != secret
    with pytest.raises(NotFound, match="no client"):
        rotate_client_secret(state.db, state.pepper, "sgc_missing")
    delete_client(state.db, record.client_id)
    with pytest.raises(NotFound, match="no client"):
        delete_client(state.db, record.client_id)


def test_a_public_client_has_no_secret_to_rotate(state: ServerState) -> None:
    spec = client_spec(state.catalog, name="cli", public=True, grants=["device_code"])
    record, secret = register_client(state.db, state.pepper, spec)
    assert secret == "" and record.is_public
    with pytest.raises(Invalid, match="public"):
        rotate_client_secret(state.db, state.pepper, record.client_id)
    stored = [c for c in list_clients(state.db) if c.client_id == record.client_id]
    assert stored[0].secret_hash is None


def test_users_refusals_store_nothing(state: ServerState) -> None:
    email = _email()
    users.create_user(state.db, email=email, password_hash=HASH, role="member")
    with pytest.raises(Conflict, match="exists"):
        users.create_user(state.db, email=email.upper(), password_hash=HASH, role="member")
    with pytest.raises(Invalid):
        users.create_user(state.db, email="not-an-email", password_hash=HASH, role="member")
    with pytest.raises(Invalid, match="unknown role 'god'"):
        users.checked_role(state.catalog, "god")
    with pytest.raises(Invalid, match="8 to 1024"):
        users.password_hash("short")
    assert [u.email for u in users.list_users(state.db)].count(email) == 1
    with pytest.raises(NotFound, match="no workspace named"):
        users.add_member(state.db, "no-such-workspace", email, "member")


def test_sessions_of_an_unknown_id_are_refused(state: ServerState) -> None:
    user = users.create_user(state.db, email=_email(), password_hash=HASH, role="member")
    assert sessions.list_sessions(state.db, user) == []
    assert sessions.end_sessions(state.db, user) == 0
    with pytest.raises(NotFound, match="no session"):
        sessions.end_sessions(state.db, user, "ses_000000000000000000000000")


def test_a_key_beyond_the_role_or_outside_a_workspace_stores_nothing(
        state: ServerState) -> None:
    viewer = users.create_user(state.db, email=_email(), password_hash=HASH, role="viewer")
    repo = keys.key_store(state.db, state.settings.api_key_prefix)
    now = repo.clock()
    too_wide = keys.plan_key(state.catalog, keys.NewKey(scopes=["apps:write"]), now)
    with pytest.raises(InvalidScope, match="beyond your role"):
        keys.store_key(repo, state.catalog, too_wide, viewer.id)
    elsewhere = keys.plan_key(state.catalog,
                              keys.NewKey(scopes=["apps:read"], workspace="nowhere"), now)
    with pytest.raises(NotAMember, match="not a member of workspace 'nowhere'"):
        keys.store_key(repo, state.catalog, elsewhere, viewer.id)
    with pytest.raises(InvalidScope, match="beyond your access token"):
        keys.plan_key(state.catalog, keys.NewKey(scopes=["apps:read", "apps:run"]), now,
                      token_scopes=frozenset({"apps:read"}))
    assert keys.list_keys(repo, user_id=viewer.id) == []
    with pytest.raises(NotFound):
        keys.revoke_key(repo, "nosuchkey")
