"""``scopegate routes check``: lists routes, fails on undeclared routes and unknown scopes."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from scopegate.cli.main import app

from . import routes_check_apps

runner = CliRunner()
APPS = routes_check_apps.__name__


def check(target: str, *extra: str) -> tuple[int, str]:
    result = runner.invoke(app, ["routes", "check", target, *extra])
    return result.exit_code, result.output


def test_clean_app_passes_and_lists_scopes() -> None:
    code, out = check(f"{APPS}:good", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["ok"] is True
    by_path = {r["path"]: r for r in data["routes"]}
    assert by_path["/apps"]["scopes"] == ["apps:read"]
    assert by_path["/health"]["public"] is True


@pytest.mark.parametrize(
    ("target", "reason"),
    [
        (f"{APPS}:undeclared", "no scope declaration"),
        (f"{APPS}:unknown_scope", "unknown scope: apps:reed"),
        (f"{APPS}:flask_app", "no scope declaration"),
    ],
)
def test_problems_exit_1_and_name_the_route(target: str, reason: str) -> None:
    code, out = check(target, "--json")
    assert code == 1
    problems = [r for r in json.loads(out)["routes"] if r["problem"]]
    assert len(problems) == 1 and reason in problems[0]["problem"]


def test_table_output_and_bad_import() -> None:
    code, out = check(f"{APPS}:undeclared")
    assert code == 1 and "/forgotten" in out and "1 problem(s)" in out
    code, _ = check("no_such_module:app")
    assert code == 2


def test_example_api_passes() -> None:
    code, out = check("examples.example_api:app", "--json")
    assert code == 0, out
    scopes = {r["path"]: r["scopes"] for r in json.loads(out)["routes"]}
    assert scopes["/workspaces/{workspace}/apps/{app_id}/run"] == ["apps:run"]
