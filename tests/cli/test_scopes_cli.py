"""``scopegate scopes list`` prints the same public catalog as ``GET /api/v1/scopes``."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from scopegate.cli.main import app
from scopegate.scopes import default_catalog
from scopegate.server.management.scopes_api import public_catalog


def test_json_matches_the_public_catalog() -> None:
    env = {"SCOPEGATE_ISSUER": "https://id.example"}
    result = CliRunner().invoke(app, ["scopes", "list", "--json"], env=env)
    assert result.exit_code == 0
    served = default_catalog().resolve_audiences({
        "@management": "https://id.example/api/v1/",
        "@userinfo": "https://id.example/userinfo"})
    assert json.loads(result.stdout) == {"scopes": public_catalog(served)}
    listed = {s["name"]: s["audience"] for s in json.loads(result.stdout)["scopes"]}
    assert listed["keys:read"] == "https://id.example/api/v1/"
    names = [s["name"] for s in json.loads(result.stdout)["scopes"]]
    assert "api" in names and "admin:clients" not in names


def test_table_and_custom_catalog(tmp_path: Path) -> None:
    path = tmp_path / "scopes.toml"
    path.write_text('namespace = "acme"\n[scopes."acme:all"]\ndescription = "All of acme"\n'
                    'aliases = ["all"]\nimplies = ["*"]\n[scopes."acme:read"]\n')
    result = CliRunner().invoke(app, ["scopes", "list", "--catalog", str(path)])
    assert result.exit_code == 0 and "acme:all" in result.stdout


def test_broken_catalog_names_file_and_problem(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('namespace = "x"\n[scopes.a]\nimplies = ["missing"]\n')
    result = CliRunner().invoke(app, ["scopes", "list", "--catalog", str(path)])
    assert result.exit_code == 2
    assert str(path) in result.stderr and "Traceback" not in result.output
