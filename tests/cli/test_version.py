"""``scopegate --version`` prints the one version, the one the installed metadata carries."""

from __future__ import annotations

from importlib.metadata import version

from typer.testing import CliRunner

import scopegate
from scopegate.cli.main import app


def test_version_flag_prints_the_package_version() -> None:
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"scopegate {scopegate.__version__}"


def test_installed_metadata_reads_the_same_version() -> None:
    assert version("scopegate") == scopegate.__version__
