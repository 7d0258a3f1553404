"""`scopegate users` and `scopegate workspaces` against a real SQLite store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from scopegate.cli.main import app
from scopegate.server.crypto.passwords import verify_password
from scopegate.store import Database
from scopegate.store.repositories.users import UserRepository
from scopegate.store.repositories.workspaces import WorkspaceRepository


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'users.db'}"


def run(db_url: str, *args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, [*args, "--database-url", db_url], input=stdin)
    return result.exit_code, result.stdout, result.stderr


def test_create_user_hashes_the_password_from_stdin(db_url: str) -> None:
    code, out, err = run(db_url, "users", "create", "--email", "Ada@Example.org",
                         "--password-stdin", "--role", "admin", "--json",
                         stdin="s3cret-passw0rd\n")
    assert code == 0, err
    created = json.loads(out)
    assert created["email"] == "ada@example.org" and created["role"] == "admin"
    assert created["id"].startswith("usr_") and "password" not in out
    user = UserRepository(Database(db_url)).by_email("ada@example.org")
    assert user is not None and user.password_hash.startswith("$argon2id$")
    assert verify_password(user.password_hash, "s3cret-passw0rd")
    code, out, _ = run(db_url, "users", "list", "--json")
    assert code == 0 and [u["email"] for u in json.loads(out)] == ["ada@example.org"]
    assert "argon2" not in out


@pytest.mark.parametrize(("args", "stdin", "code", "message"), [
    (["--email", "a@example.org"], "long-enough-pw", 2, "--password-stdin"),
    (["--email", "a@example.org", "--password-stdin"], "short", 2, "8 to 1024"),
    (["--email", "a@example.org", "--password-stdin", "--role", "root"], "long-enough-pw", 2,
     "unknown role 'root'"),
    (["--email", "not-an-email", "--password-stdin"], "long-enough-pw", 2, "not an email"),
])
def test_create_user_refusals(db_url: str, args: list[str], stdin: str, code: int,
                              message: str) -> None:
    exit_code, _, err = run(db_url, "users", "create", *args, stdin=stdin)
    assert exit_code == code and message in err


def test_duplicate_email_exits_1(db_url: str) -> None:
    for expected in (0, 1):
        code, _, err = run(db_url, "users", "create", "--email", "b@example.org",
                           "--password-stdin", stdin="long-enough-pw")
        assert code == expected
    assert "exists" in err


def test_workspaces_and_members(db_url: str) -> None:
    run(db_url, "users", "create", "--email", "m@example.org", "--password-stdin",
        stdin="long-enough-pw")
    code, out, _ = run(db_url, "workspaces", "create", "acme", "--json")
    assert code == 0 and json.loads(out)["name"] == "acme"
    assert run(db_url, "workspaces", "create", "acme")[0] == 1
    code, out, err = run(db_url, "workspaces", "add-member", "acme", "--email",
                         "m@example.org", "--role", "viewer", "--json")
    assert code == 0, err
    assert json.loads(out)["role"] == "viewer"
    db = Database(db_url)
    workspace = WorkspaceRepository(db).by_name("acme")
    assert workspace is not None
    assert [m.role for m in WorkspaceRepository(db).members(workspace.id)] == ["viewer"]
    assert run(db_url, "workspaces", "add-member", "nope", "--email", "m@example.org")[0] == 1
    assert run(db_url, "workspaces", "add-member", "acme", "--email", "x@example.org")[0] == 1
    code, _, err = run(db_url, "workspaces", "add-member", "acme", "--email", "m@example.org",
                       "--role", "owner")
    assert code == 2 and "unknown role" in err
    code, out, _ = run(db_url, "workspaces", "list", "--json")
    assert json.loads(out) == [{"id": workspace.id, "name": "acme", "members": 1}]


def test_disable_enable_and_set_password_say_what_they_did(db_url: str) -> None:
    run(db_url, "users", "create", "--email", "d@example.org", "--password-stdin",
        stdin="long-enough-pw")
    code, out, err = run(db_url, "users", "disable", "--email", "D@example.org", "--json")
    assert code == 0, err
    assert json.loads(out) == {"id": json.loads(out)["id"], "email": "d@example.org",
                               "disabled": True, "sessions_ended": 0}
    code, out, _ = run(db_url, "users", "list", "--json")
    assert json.loads(out)[0]["disabled_at"] is not None
    code, out, _ = run(db_url, "users", "list")
    assert "disabled" in out
    code, out, _ = run(db_url, "users", "enable", "--email", "d@example.org")
    assert code == 0 and out.strip() == "enabled d@example.org"
    code, out, _ = run(db_url, "users", "set-password", "--email", "d@example.org",
                       "--password-stdin", stdin="another-long-pw\n")
    assert code == 0 and "0 session(s) ended" in out
    user = UserRepository(Database(db_url)).by_email("d@example.org")
    assert user is not None and not user.disabled
    assert verify_password(user.password_hash, "another-long-pw")


@pytest.mark.parametrize(("args", "code", "message"), [
    (["users", "disable", "--email", "nobody@example.org"], 1, "no user with email"),
    (["users", "sessions", "--email", "nobody@example.org"], 1, "no user with email"),
    (["users", "end-sessions", "--email", "nobody@example.org"], 1, "no user with email"),
    (["users", "set-password", "--email", "e@example.org"], 2, "--password-stdin"),
    (["users", "end-sessions", "--email", "e@example.org", "--session", "ses_x"], 1,
     "no session 'ses_x' for e@example.org"),
])
def test_session_and_account_commands_refuse_clearly(db_url: str, args: list[str], code: int,
                                                     message: str) -> None:
    run(db_url, "users", "create", "--email", "e@example.org", "--password-stdin",
        stdin="long-enough-pw")
    exit_code, _, err = run(db_url, *args)
    assert exit_code == code and message in err and err.count("\n") == 1


def test_a_user_without_sessions_lists_none_and_ends_none(db_url: str) -> None:
    run(db_url, "users", "create", "--email", "f@example.org", "--password-stdin",
        stdin="long-enough-pw")
    assert json.loads(run(db_url, "users", "sessions", "--email", "f@example.org",
                          "--json")[1]) == []
    code, out, _ = run(db_url, "users", "end-sessions", "--email", "f@example.org")
    assert code == 0 and out.strip() == "0 session(s) ended for f@example.org"
