"""Every ``--help`` page says a value in words (``--scope SCOPE``, ``--port INTEGER``) and a
flag with none, never a Python annotation such as ``<list[str]>`` or ``<bool>``."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from typer.main import get_command
from typer.testing import CliRunner

from scopegate.cli.main import app

# A Python type in angle brackets: <str>, <bool>, <list[str]>, <int range>, <Path> ...
_ANNOTATION = re.compile(r"<(?:list\[[^\]]*\]|[A-Za-z_]+(?: range)?)>(?=\s)")


def command_paths() -> Iterator[list[str]]:
    """Every command and group, as the words typed before ``--help``."""
    def walk(command: object, path: list[str]) -> Iterator[list[str]]:
        yield path
        for name, sub in sorted(getattr(command, "commands", {}).items()):
            yield from walk(sub, [*path, name])
    yield from walk(get_command(app), [])


@pytest.mark.parametrize("path", [pytest.param(p, id=" ".join(p) or "scopegate")
                                  for p in command_paths()])
def test_help_says_values_in_words(path: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "160")
    result = CliRunner().invoke(app, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert not _ANNOTATION.findall(result.output), result.output
    usage = next(line for line in result.output.splitlines() if "Usage:" in line)
    assert "{" not in usage  # CLIENT_ID, not {client_id}


def test_user_options_name_what_they_take(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "160")
    page = " ".join(CliRunner().invoke(app, ["token", "--help"]).output.split())
    for option, word in (("--env -e", "NAME"), ("--scope -s", "SCOPE"), ("--api", "URL"),
                         ("--client-id", "ID")):
        assert f"{option} {word} " in page
    assert re.search(r"--json Print JSON", page)  # a flag: no value word at all
