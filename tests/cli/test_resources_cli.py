"""``scopegate resources add|list|remove`` through Typer's CliRunner, and
``clients create --resource-server`` naming a registered resource."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from scopegate.cli.main import app
from scopegate.store import Database
from scopegate.store.repositories.resources import ResourceRepository

MCP = "http://127.0.0.1:8765/mcp"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"SCOPEGATE_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
            "SCOPEGATE_ISSUER": "http://127.0.0.1:8000"}


def run(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


def test_add_list_remove_with_json(env: dict[str, str]) -> None:
    code, out, _ = run(env, "resources", "add", MCP, "--scope", "apps:read", "--scope",
                       "apps:run", "--name", "MCP example", "--json")
    assert code == 0
    added = json.loads(out)
    assert added["resource"] == MCP and added["scopes"] == ["apps:read", "apps:run"]
    assert added["static"] is False and added["name"] == "MCP example"
    listed = json.loads(run(env, "resources", "list", "--json")[1])
    by_id = {r["resource"]: r for r in listed}
    assert by_id[MCP]["scopes"] == ["apps:read", "apps:run"]
    assert by_id["https://api.scopegate.example"]["static"] is True
    assert by_id["http://127.0.0.1:8000/api/v1/"]["static"] is True
    assert by_id["http://127.0.0.1:8000/userinfo"]["scopes"] == ["openid"]
    assert json.loads(run(env, "resources", "remove", MCP, "--json")[1]) == {"removed": MCP}
    assert MCP not in {r["resource"] for r in json.loads(run(env, "resources", "list",
                                                              "--json")[1])}


def test_human_output(env: dict[str, str]) -> None:
    code, out, _ = run(env, "resources", "add", MCP, "--scope", "apps:read")
    assert code == 0 and out.strip() == f"added {MCP} ({MCP}): apps:read"
    code, out, _ = run(env, "resources", "list")
    assert code == 0 and "registered" in out and "catalog" in out
    assert run(env, "resources", "remove", MCP)[1].strip() == f"removed {MCP}"


@pytest.mark.parametrize(("args", "code", "message"), [
    (["add", "ftp://x", "--scope", "apps:read"], 2, "absolute http(s) URL"),
    (["add", MCP + "#x", "--scope", "apps:read"], 2, "fragment"),
    (["add", MCP], 2, "at least one --scope"),
    (["add", MCP, "--scope", "nope"], 2, "unknown scope"),
    (["add", MCP, "--scope", "apps:read", "--name", ""], 2, "--name must be"),
    (["add", "https://api.scopegate.example", "--scope", "api"], 1, "scope catalog"),
    (["remove", "https://api.scopegate.example"], 2, "cannot be removed"),
    (["remove", MCP], 1, "no resource"),
])
def test_bad_input_is_one_line_and_nothing_is_stored(env: dict[str, str], args: list[str],
                                                     code: int, message: str) -> None:
    got, out, err = run(env, "resources", *args)
    assert got == code, err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and message in errors[0], err
    assert "Traceback" not in err + out
    db = Database(env["SCOPEGATE_DATABASE_URL"])
    if db.is_current():
        assert ResourceRepository(db).list() == []


def test_duplicates_exit_1(env: dict[str, str]) -> None:
    assert run(env, "resources", "add", MCP, "--scope", "apps:read")[0] == 0
    code, _, err = run(env, "resources", "add", MCP, "--scope", "apps:run")
    assert code == 1 and "registered already" in err


def test_a_registered_resource_can_be_introspected_for(env: dict[str, str]) -> None:
    assert run(env, "resources", "add", MCP, "--scope", "apps:read")[0] == 0
    code, out, err = run(env, "clients", "create", "--name", "mcp guard",
                         "--resource-server", MCP, "--json")
    assert code == 0, err
    listed = {r["resource"]: r for r in json.loads(run(env, "resources", "list",
                                                        "--json")[1])}
    assert listed[MCP]["introspected_by"] == [json.loads(out)["client_id"]]
