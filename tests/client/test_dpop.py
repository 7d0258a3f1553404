"""The SDK's DPoP key: kept where the tokens are (keyring, else the 0600 file), reused,
never in the clear elsewhere; nonce answers; the environments.json switch."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import httpx
import keyring
import pytest

from scopegate.client import ClientCredentialsProvider, TokenSession
from scopegate.client._cache import TokenCache
from scopegate.client._config import load_environments
from scopegate.client._dpop import DPoPKey, use_dpop_nonce
from scopegate.client._exceptions import ConfigError, TokenEndpointError
from scopegate.client._stores import FileTokenStore, PersistentTokenStore
from scopegate.client._tokens import Token

from .test_api_client import CountingKeyring

ISSUER = "https://as.example"


def _session(cache: TokenCache) -> TokenSession:
    return TokenSession(ClientCredentialsProvider(ISSUER, "svc", "s"), cache=cache, dpop=True)


def test_the_key_lives_in_the_keyring_with_the_tokens(tmp_path: Path) -> None:
    backend = CountingKeyring()
    previous = keyring.get_keyring()
    keyring.set_keyring(backend)
    try:
        store = PersistentTokenStore(tmp_path / "tokens.json")
        first = _session(TokenCache(store)).dpop
        assert first is not None
        jkt = first.key.jkt
        secret = json.loads(backend.data[("scopegate", "token-cache")])
        [entry] = [v for k, v in secret["tokens"].items() if k.startswith("dpop-key:")]
        assert entry["private_key_pem"].startswith("-----BEGIN PRIVATE KEY-----")
        assert not (tmp_path / "tokens.json").exists()  # nowhere else
        again = _session(TokenCache(PersistentTokenStore(tmp_path / "tokens.json"))).dpop
        assert again is not None and again.key.jkt == jkt
    finally:
        keyring.set_keyring(previous)


def test_without_a_keyring_the_key_is_in_the_0600_file_and_no_token_entry(
        tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    cache = TokenCache(FileTokenStore(path))
    signer = _session(cache).dpop
    assert signer is not None and signer.key.jkt
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    cache.reload()  # the key entry is not mistaken for a token (no warning, no token)
    assert cache.tokens(ISSUER, "svc") == []


def test_each_proof_is_new_and_carries_ath_and_the_nonce() -> None:
    import jwt

    key = DPoPKey.generate()
    one = key.proof("GET", "https://api.example/x?q=1", access_token="tok", nonce="n1")
    two = key.proof("GET", "https://api.example/x?q=1", access_token="tok")
    a, b = (jwt.decode(p, options={"verify_signature": False}) for p in (one, two))
    assert a["jti"] != b["jti"] and a["htu"] == "https://api.example/x"
    assert a["nonce"] == "n1" and "nonce" not in b and a["ath"] == b["ath"]
    assert jwt.get_unverified_header(one)["typ"] == "dpop+jwt"
    assert "d" not in jwt.get_unverified_header(one)["jwk"]


def test_nonce_answers_are_recognised() -> None:
    asked = httpx.Headers({"DPoP-Nonce": "n", "WWW-Authenticate":
                           'DPoP algs="ES256", error="use_dpop_nonce"'})
    assert use_dpop_nonce(401, asked)
    assert use_dpop_nonce(400, httpx.Headers({"DPoP-Nonce": "n"}), {"error": "use_dpop_nonce"})
    assert not use_dpop_nonce(401, httpx.Headers({"WWW-Authenticate": 'DPoP error="x"'}))
    assert not use_dpop_nonce(400, httpx.Headers({"DPoP-Nonce": "n"}), {"error": "x"})


def test_a_dpop_token_type_is_taken_only_when_a_proof_was_sent() -> None:
    body = {"access_token": "a.b.c", "token_type": "DPoP", "expires_in": 60}
    assert Token.from_response(body, issuer=ISSUER, client_id="c", requested=(),
                               dpop=True).token_type == "DPoP"
    with pytest.raises(TokenEndpointError):
        Token.from_response(body, issuer=ISSUER, client_id="c", requested=())


def test_environments_json_turns_dpop_on_and_checks_the_value(tmp_path: Path) -> None:
    path = tmp_path / "environments.json"
    path.write_text(json.dumps({"environments": {"p": {"issuer": ISSUER, "dpop": True}}}))
    assert load_environments(path)["p"].dpop is True
    path.write_text(json.dumps({"environments": {"p": {"issuer": ISSUER, "dpop": "yes"}}}))
    with pytest.raises(ConfigError, match="dpop must be true or false"):
        load_environments(path)
