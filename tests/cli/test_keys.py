"""`scopegate keys create|list|revoke|rotate` against a real SQLite store."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from scopegate.cli.main import app
from scopegate.store import Database
from scopegate.store.models.users import Membership, User, Workspace
from scopegate.store.repositories.api_keys import ApiKeyRepository
from scopegate.tokens.api_keys import checksum_ok


@pytest.fixture
def db_url(tmp_path: Path) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    db = Database(url)
    db.upgrade()
    with db.session() as session:
        session.add(User(id="usr_m", email="m@example.com", password_hash="x", role="member"))
        session.add(User(id="usr_a", email="a@example.com", password_hash="x", role="admin"))
        session.add(Workspace(id="ws_1", name="acme"))
        session.flush()
        session.add(Membership(user_id="usr_m", workspace_id="ws_1", role="viewer"))
    db.dispose()
    yield url


def run(db_url: str, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, [*args, "--database-url", db_url])
    return result.exit_code, result.stdout, result.stderr


def create(db_url: str, *args: str) -> dict[str, object]:
    code, out, err = run(db_url, "keys", "create", *args, "--json")
    assert code == 0, err
    return dict(json.loads(out))


def test_create_prints_the_key_once_with_canonical_and_legacy_scopes(db_url: str) -> None:
    body = create(db_url, "--email", "m@example.com", "--scope", "apps:read",
                  "--scope", "application_connect", "--name", "ci", "--expires-in", "30d")
    key = str(body["key"])
    assert checksum_ok(key, prefix="sg")
    assert body["scopes"] == ["apps:read", "scopegate:application_connect"]
    assert body["scope"] == "application_connect apps:read"
    verified = ApiKeyRepository(Database(db_url)).verify(key)
    assert verified is not None and verified.record.scopes == (
        "apps:read", "scopegate:application_connect")


def test_human_output_warns_that_the_key_is_shown_once(db_url: str) -> None:
    code, out, err = run(db_url, "keys", "create", "--email", "a@example.com",
                         "--scope", "all")
    assert code == 0
    assert "key:        sg_" in out and "scopegate:all" in out
    assert "never shown again" in err


@pytest.mark.parametrize(
    ("args", "code", "fragment"),
    [
        (["--email", "m@example.com", "--scope", "apps:write"], 2, "beyond your role"),
        (["--email", "a@example.com", "--scope", "admin:users"], 2, "not available"),
        (["--email", "a@example.com", "--scope", ""], 2, "invalid scope"),
        (["--email", "a@example.com", "--scope", "nope"], 2, "unknown scope"),
        (["--email", "nobody@example.com", "--scope", "apps:read"], 1, "no user"),
        (["--email", "a@example.com", "--scope", "apps:read", "--expires-in", "1y"], 2,
         "expires_in"),
        (["--email", "a@example.com", "--scope", "apps:read", "--workspace", "acme"], 1,
         "not a member"),
        (["--email", "m@example.com", "--scope", "apps:run", "--workspace", "acme"], 2,
         "beyond your role (viewer)"),
    ],
)
def test_create_refusals(db_url: str, args: list[str], code: int, fragment: str) -> None:
    exit_code, out, err = run(db_url, "keys", "create", *args)
    assert exit_code == code
    assert fragment in err and "sg_" not in out
    assert json.loads(run(db_url, "keys", "list", "--json")[1]) == []


def test_list_has_no_secrets(db_url: str) -> None:
    body = create(db_url, "--email", "m@example.com", "--scope", "apps:read")
    create(db_url, "--email", "a@example.com", "--scope", "apps:read")
    code, out, _ = run(db_url, "keys", "list", "--email", "m@example.com", "--json")
    assert code == 0
    listed = json.loads(out)
    assert [k["id"] for k in listed] == [body["id"]]
    assert str(body["key"]) not in out and "key" not in listed[0]
    code, out, _ = run(db_url, "keys", "list")
    assert code == 0 and str(body["id"]) in out and str(body["key"]) not in out


def test_revoke_and_rotate(db_url: str) -> None:
    body = create(db_url, "--email", "m@example.com", "--scope", "apps:read")
    repo = ApiKeyRepository(Database(db_url))
    code, out, err = run(db_url, "keys", "rotate", str(body["id"]), "--grace", "1h", "--json")
    assert code == 0, err
    rotated = json.loads(out)
    assert rotated["id"] == body["id"] and rotated["key"] != body["key"]
    assert repo.verify(str(body["key"])) is not None  # in grace
    assert repo.verify(str(rotated["key"])) is not None
    assert run(db_url, "keys", "rotate", str(body["id"]), "--grace", "8d")[0] == 2
    assert run(db_url, "keys", "revoke", str(body["id"]))[0] == 0
    assert repo.verify(str(rotated["key"])) is None and repo.verify(str(body["key"])) is None
    assert run(db_url, "keys", "revoke", "missing")[0] == 1
    assert run(db_url, "keys", "rotate", str(body["id"]))[0] == 2  # revoked: cannot rotate


def test_a_member_may_be_given_an_all_key(db_url: str) -> None:
    """Seed 004: "all" is everything the member may do, so it is not "beyond the role"."""
    code, out, err = run(db_url, "keys", "create", "--email", "m@example.com",
                         "--scope", "all", "--json")
    assert code == 0, err
    assert json.loads(out)["scopes"] == ["scopegate:all"]
