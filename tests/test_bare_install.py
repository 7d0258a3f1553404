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


def _venv_with(base: Path, extra: str = "") -> Path:
    """A virtualenv holding scopegate (with ``extra``), built from a copy of this checkout."""
    source = base / "src-copy"
    if not source.exists():
        source.mkdir()
        for name in ("pyproject.toml", "README.md"):
            shutil.copy(ROOT / name, source / name)
        shutil.copytree(ROOT / "src", source / "src",
                        ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    venv = base / f"venv{extra}"
    _run(sys.executable, "-m", "venv", "--without-pip", venv)
    python = venv / "bin" / "python"
    _run(sys.executable, "-m", "pip", "--python", python, "install", "-q",
         f"{source}{f'[{extra}]' if extra else ''}")
    return venv


@pytest.fixture(scope="module")
def bare_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A virtualenv holding scopegate with no extra."""
    return _venv_with(tmp_path_factory.mktemp("bare"))


@pytest.fixture(scope="module")
def guard_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """scopegate[guard]: the guard and its memory limiter, no framework, no redis."""
    return _venv_with(tmp_path_factory.mktemp("guard"), "guard")


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


def test_the_guard_extra_limits_in_memory_without_redis(guard_venv: Path) -> None:
    probe = ("import asyncio, importlib.util\n"
             "from scopegate.guard import Guard, GuardConfig\n"
             "from scopegate.ratelimit import create_rate_limiter\n"
             "limiter = create_rate_limiter(None)\n"
             "hits = [asyncio.run(limiter.hit('t', limit=1, window_s=60)).allowed for _ in 'ab']\n"
             "print(importlib.util.find_spec('redis') is None, hits)")
    result = _run(guard_venv / "bin" / "python", "-c", probe)
    assert result.stdout.strip() == "True [True, False]"


@pytest.mark.parametrize(("module", "extra"), [
    ("import scopegate.guard.adapters.fastapi", "fastapi"),
    ("import scopegate.guard.adapters.flask", "flask"),
    ("from scopegate.ratelimit import create_rate_limiter; create_rate_limiter('redis://x')",
     "redis"),
])
def test_what_the_guard_extra_lacks_names_its_extra(guard_venv: Path, module: str,
                                                     extra: str) -> None:
    result = _run(guard_venv / "bin" / "python", "-c", module, check=False)
    assert result.returncode != 0
    assert f"install scopegate[{extra}]" in result.stderr.strip().splitlines()[-1]


def test_every_data_file_of_the_source_is_installed(bare_venv: Path) -> None:
    """Templates, catalogs and migration files reach the installed package (package-data
    globs do not descend into a new folder such as templates/admin/ by themselves)."""
    package = ROOT / "src" / "scopegate"
    data = {path.relative_to(package) for path in package.rglob("*")
            if path.is_file() and path.suffix not in (".py", ".pyc")
            and "__pycache__" not in path.parts}
    site = next((bare_venv / "lib").glob("python3*/site-packages/scopegate"))
    missing = sorted(str(p) for p in data if not (site / p).exists())
    assert missing == []
