"""``scopegate clients initial-token`` makes a registration token and the hash to configure."""

from __future__ import annotations

import hashlib
import json

from typer.testing import CliRunner

from scopegate.cli.main import app as cli
from scopegate.server.config.settings import Settings


def test_the_printed_hash_is_the_tokens_sha256_and_a_valid_setting() -> None:
    result = CliRunner().invoke(cli, ["clients", "initial-token", "--json"])
    assert result.exit_code == 0, result.output
    made = json.loads(result.stdout)
    assert made["initial_access_token"].startswith("sgiat_")
    assert made["sha256"] == hashlib.sha256(made["initial_access_token"].encode()).hexdigest()
    settings = Settings.from_env(env={"SCOPEGATE_REGISTRATION_INITIAL_TOKENS": made["sha256"],
                                      "SCOPEGATE_DATABASE_URL": "sqlite:///x.db"})
    assert settings.registration_initial_tokens == made["sha256"]


def test_two_tokens_differ_and_the_plain_output_says_where_the_hash_goes() -> None:
    first = CliRunner().invoke(cli, ["clients", "initial-token"])
    second = CliRunner().invoke(cli, ["clients", "initial-token"])
    assert first.exit_code == 0 and first.stdout != second.stdout
    assert "SCOPEGATE_REGISTRATION_INITIAL_TOKENS" in first.stderr
