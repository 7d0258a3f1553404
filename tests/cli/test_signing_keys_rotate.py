"""``scopegate signing-keys rotate`` names both new keys and keeps the old ones in JWKS."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from scopegate.cli.main import app
from scopegate.server.config.settings import Settings
from scopegate.server.crypto.kek import load_keks
from scopegate.server.signing.signing_keys import SigningKeys
from scopegate.store import Database
from scopegate.store.repositories import SigningKeyRepository


def run(url: str, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), env={"SCOPEGATE_DATABASE_URL": url})
    return result.exit_code, result.stdout, result.stderr


def active_kids(url: str) -> dict[str, str]:
    keys = json.loads(run(url, "signing-keys", "list", "--json")[1])
    return {k["alg"]: k["kid"] for k in keys if k["active"]}


def test_rotate_prints_the_access_token_and_id_token_kids(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'keys.db'}"
    code, out, err = run(url, "signing-keys", "rotate")
    assert code == 0, err
    first = active_kids(url)
    assert f"new access-token key {first['ES256']} (ES256)" in out
    assert f"new ID-token key     {first['RS256']} (RS256)" in out
    assert "retired key(s) stay in JWKS until" in out

    code, out, err = run(url, "signing-keys", "rotate", "--json", "--alg", "EdDSA")
    assert code == 0, err
    body = json.loads(out)
    second = active_kids(url)
    assert body["access_token_key"] == {"kid": second["EdDSA"], "alg": "EdDSA"}
    assert body["id_token_key"] == {"kid": second["RS256"], "alg": "RS256"}
    assert {k["kid"] for k in body["retired"]} == set(first.values())
    assert all(k["publish_until"] for k in body["retired"])

    keks = load_keks(Settings.from_env(env={}, database_url=url), may_create=False)
    ring = SigningKeys(SigningKeyRepository(Database(url), keks), "http://issuer.test")
    published = {k["kid"] for k in ring.jwks["keys"]}
    assert set(first.values()) | set(second.values()) <= published
    assert ring.signer.kid == second["EdDSA"]
    assert ring.id_token_signer.kid == second["RS256"]
