"""Fixtures of the user-CLI tests against a loopback authorization server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from scopegate.cli import user
from scopegate.client import _factory

from .loopback_issuer import LoopbackIssuer, write_config


@pytest.fixture
def server() -> Iterator[LoopbackIssuer]:
    """The fake authorization server, listening on 127.0.0.1."""
    with LoopbackIssuer().running() as running:
        yield running


@pytest.fixture
def config(tmp_path: Path, server: LoopbackIssuer, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A config dir naming the loopback server; no OS keyring, not in CI, no TTY."""
    directory = write_config(tmp_path / "config", server)
    monkeypatch.setenv("SCOPEGATE_CONFIG_DIR", str(directory))
    monkeypatch.setenv("SCOPEGATE_NO_KEYRING", "1")
    monkeypatch.delenv("SCOPEGATE_ENV", raising=False)
    monkeypatch.delenv("CI", raising=False)
    return directory


def run_cli(*args: str) -> tuple[int, str, str]:
    """Run one user command in-process, as a fresh process would (no memory cache)."""
    with _factory._caches_guard:
        _factory._caches.clear()
    app = typer.Typer()
    user.register(app)
    result = CliRunner().invoke(app, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr
