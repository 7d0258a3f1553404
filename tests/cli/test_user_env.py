"""``scopegate env add | list | remove``: the first run creates environments.json itself,
refuses what the reader would refuse, and never leaves half a file behind."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from scopegate.cli.main import app
from scopegate.client import _factory


def scopegate(*args: str) -> tuple[int, str, str]:
    """The real ``scopegate`` command, as a fresh process would run it."""
    with _factory._caches_guard:
        _factory._caches.clear()
    result = CliRunner().invoke(app, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty, not yet existing config dir: the first run."""
    directory = tmp_path / "config"
    monkeypatch.setenv("SCOPEGATE_CONFIG_DIR", str(directory))
    monkeypatch.setenv("SCOPEGATE_NO_KEYRING", "1")
    for name in ("SCOPEGATE_ENV", "SCOPEGATE_INSECURE_HTTP", "CI", "COLUMNS"):
        monkeypatch.delenv(name, raising=False)
    return directory


def one_line(text: str) -> str:
    return " ".join(text.split())


def test_first_run_status_says_to_add_an_environment(config: Path) -> None:
    code, _, err = scopegate("status")
    assert code == 2
    assert "no environments yet; run: scopegate env add NAME --issuer https://" in err
    assert "not found" not in err and err.count("\n") == 1


def test_env_add_creates_the_file_and_says_what_to_type_next(config: Path) -> None:
    code, _, err = scopegate("env", "add", "prod", "--issuer", "https://auth.example.com/",
                             "--client-id", "cli-app", "--scope", "apps:read", "--default")
    assert code == 0, err
    assert "Added environment prod (default): https://auth.example.com" in one_line(err)
    assert "next: scopegate login --env prod" in err
    file = config / "environments.json"
    assert json.loads(file.read_text()) == {"default": "prod", "environments": {"prod": {
        "issuer": "https://auth.example.com", "client_id": "cli-app", "scopes": ["apps:read"]}}}
    assert stat.S_IMODE(file.stat().st_mode) == 0o644  # no secret in it, as gh's config.yml
    assert stat.S_IMODE(config.stat().st_mode) == 0o700
    assert sorted(p.name for p in config.iterdir()) == ["environments.json",
                                                        "environments.json.lock"]


def test_env_list_marks_the_default_and_prints_json(config: Path) -> None:
    code, out, err = scopegate("env", "list")
    assert (code, out) == (0, "")
    assert "No environments yet; run: scopegate env add" in err
    scopegate("env", "add", "prod", "--issuer", "https://auth.example.com", "--default")
    scopegate("env", "add", "dev", "--issuer", "http://127.0.0.1:9000")
    code, out, _ = scopegate("env", "list")
    rows = [line for line in out.splitlines() if "prod" in line or "dev" in line]
    assert "*" in rows[1] and "https://auth.example.com" in rows[1]  # sorted: dev, prod
    assert "*" not in rows[0]
    code, out, _ = scopegate("env", "list", "--json")
    listed = json.loads(out)
    assert [(e["name"], e["default"]) for e in listed] == [("dev", False), ("prod", True)]
    assert listed[0]["issuer"] == "http://127.0.0.1:9000"


def test_env_add_refuses_to_overwrite_without_force(config: Path) -> None:
    scopegate("env", "add", "prod", "--issuer", "https://one.example.com")
    before = (config / "environments.json").read_text()
    code, _, err = scopegate("env", "add", "prod", "--issuer", "https://two.example.com")
    assert code == 1
    assert "environment 'prod' already exists (issuer https://one.example.com)" in err
    assert "--force" in err
    assert (config / "environments.json").read_text() == before
    code, _, _ = scopegate("env", "add", "prod", "--issuer", "https://two.example.com", "--force")
    assert code == 0
    assert "two.example.com" in (config / "environments.json").read_text()


@pytest.mark.parametrize(("issuer", "says"), [
    ("http://auth.example.com", "credentials would travel in clear text; use https://"),
    ("auth.example.com", "must be an absolute https:// URL"),
    ("https://auth.example.com/?tenant=1", "an issuer has no ?query"),
    ("https://user:pw@auth.example.com", "must not carry a user, password or #fragment"),
    ("https://auth.example.com:99999", "the port must be 0-65535"),
])
def test_env_add_refuses_a_bad_issuer_with_one_clear_line(
    config: Path, issuer: str, says: str
) -> None:
    code, _, err = scopegate("env", "add", "prod", "--issuer", issuer)
    assert code == 2
    assert says in err and err.startswith("error: issuer") and err.count("\n") == 1
    assert not (config / "environments.json").exists()


@pytest.mark.parametrize("args", [
    ["bad name", "--issuer", "https://a.example"],
    ["-x", "--issuer", "https://a.example"],
    ["prod", "--issuer", "https://a.example", "--scope", "bad scope"],
    ["prod", "--issuer", "https://a.example", "--client-id", " "],
    ["prod"],
])
def test_env_add_refuses_bad_input(config: Path, args: list[str]) -> None:
    code, _, _ = scopegate("env", "add", *args)
    assert code == 2
    assert not (config / "environments.json").exists()


def test_env_add_leaves_a_broken_file_alone(config: Path) -> None:
    config.mkdir()
    (config / "environments.json").write_text("{oops")
    code, _, err = scopegate("env", "add", "prod", "--issuer", "https://auth.example.com")
    assert code == 2
    assert "environments file is not valid JSON" in err
    assert (config / "environments.json").read_text() == "{oops"
    assert not [p for p in config.iterdir() if p.suffix == ".tmp"]


def test_env_remove_forgets_it_and_its_default(config: Path) -> None:
    scopegate("env", "add", "prod", "--issuer", "https://auth.example.com", "--default")
    scopegate("env", "add", "dev", "--issuer", "https://dev.example.com")
    code, _, err = scopegate("env", "remove", "prod")
    assert code == 0 and "Removed environment prod" in err
    assert json.loads((config / "environments.json").read_text()) == {
        "environments": {"dev": {"issuer": "https://dev.example.com"}}}
    code, _, err = scopegate("env", "remove", "prod")
    assert code == 1
    assert "no environment named 'prod'; run: scopegate env list" in err


def test_the_default_environment_is_used_without_env(config: Path) -> None:
    scopegate("env", "add", "dev", "--issuer", "https://dev.example.com", "--client-id", "a")
    scopegate("env", "add", "prod", "--issuer", "https://auth.example.com", "--client-id", "b")
    code, out, err = scopegate("status")
    assert code == 2
    assert "run: scopegate login --env dev" in one_line(err)
    scopegate("env", "add", "prod", "--issuer", "https://auth.example.com", "--client-id", "b",
               "--default", "--force")
    code, out, _ = scopegate("status")
    assert code == 1
    assert one_line(out) == "Not logged in to prod; run: scopegate login --env prod"


def test_an_unknown_environment_says_how_to_add_it(config: Path) -> None:
    scopegate("env", "add", "prod", "--issuer", "https://auth.example.com")
    code, _, err = scopegate("token", "--env", "staging")
    assert code == 2
    assert "no environment named 'staging' (prod); run: scopegate env add staging --issuer" \
        in one_line(err)


def test_a_default_naming_no_environment_is_a_config_error(config: Path) -> None:
    config.mkdir()
    (config / "environments.json").write_text(json.dumps(
        {"default": "gone", "environments": {"prod": {"issuer": "https://a.example"}}}))
    code, _, err = scopegate("status")
    assert code == 2
    assert "'default' must name one of the environments (prod)" in err
