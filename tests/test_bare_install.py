"""A bare ``pip install scopegate`` is the SDK: the client works, the server says what to add.

Builds the package from this checkout into a fresh virtualenv (pip's cache keeps it quick)
and runs what an SDK user would run there.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SENTENCE = "install scopegate[server]"

pytestmark = pytest.mark.slow


def _run(*args: str | Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PYTHONPATH": ""}
    result = subprocess.run([str(a) for a in args], capture_output=True, text=True, env=env,
                            timeout=240, check=False)
    if check:
        assert result.returncode == 0, result.stdout + result.stderr
    return result


@pytest.fixture(scope="module")
def bare_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A virtualenv holding scopegate with no extra, built from a copy of this checkout."""
    base = tmp_path_factory.mktemp("bare")
    source = base / "src-copy"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(ROOT / "src", source / "src",
                    ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    venv = base / "venv"
    _run(sys.executable, "-m", "venv", "--without-pip", venv)
    python = venv / "bin" / "python"
    _run(sys.executable, "-m", "pip", "--python", python, "install", "-q", source)
    return venv


def test_the_client_imports_without_any_extra(bare_venv: Path) -> None:
    probe = ("import importlib.util, scopegate.client, scopegate.scopes\n"
             "print([m for m in ('starlette', 'sqlalchemy', 'fastapi', 'flask', 'psycopg')"
             " if importlib.util.find_spec(m)])")
    result = _run(bare_venv / "bin" / "python", "-c", probe)
    assert result.stdout.strip() == "[]"  # no server dependency came along


def test_the_server_is_refused_with_the_extra_to_install(bare_venv: Path) -> None:
    result = _run(bare_venv / "bin" / "python", "-c", "import scopegate.server", check=False)
    assert result.returncode != 0
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line.startswith("scopegate._extras.MissingExtra: scopegate.server needs")
    assert SENTENCE in last_line


def test_the_cli_runs_user_commands_and_names_the_extra_for_serve(bare_venv: Path) -> None:
    scopegate = bare_venv / "bin" / "scopegate"
    assert _run(scopegate, "--version").stdout.startswith("scopegate ")
    assert "Log in to an environment" in _run(scopegate, "login", "--help").stdout
    serve = _run(scopegate, "serve", "--port", "8001", check=False)
    assert serve.returncode == 2
    assert SENTENCE in serve.stderr
    assert "Traceback" not in serve.stderr
