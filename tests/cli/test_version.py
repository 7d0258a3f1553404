"""``scopegate --version`` prints the one version, the one the installed metadata carries."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

from typer.testing import CliRunner

import scopegate
from scopegate.cli.main import app


def test_version_flag_prints_the_package_version() -> None:
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"scopegate {scopegate.__version__}"


def test_installed_metadata_reads_the_same_version() -> None:
    assert version("scopegate") == scopegate.__version__


def test_the_installed_command_prints_the_version_and_lists_it_in_help() -> None:
    script = Path(sys.executable).with_name("scopegate")
    done = subprocess.run([str(script), "--version"], capture_output=True, text=True,
                          timeout=60, check=False)
    assert (done.returncode, done.stdout, done.stderr) == (
        0, f"scopegate {scopegate.__version__}\n", "")
    page = CliRunner().invoke(app, ["--help"]).output
    assert "--version" in page and "Print the version and exit." in page
