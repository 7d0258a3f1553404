"""DPoP end to end: the real server and the example API (its guard) as processes, the SDK
with ``dpop: true``; both servers demand nonces, so the SDK must follow ``DPoP-Nonce``."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from _servers import READ_PATH, RUN_PATH, Stack, build_stack, write_config

from scopegate.cli._local_stack import start_auth_server, start_example_api
from scopegate.client import ApiClient, session_from_env
from scopegate.client._cache import TokenCache
from scopegate.client._stores import FileTokenStore


@pytest.fixture(scope="module")
def dpop_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The e2e stack's registrations, served by a server and an API that require nonces."""
    workdir = tmp_path_factory.mktemp("dpop-stack")
    with build_stack(workdir, ["ada"]) as plain:
        db_url = f"sqlite:///{workdir / 'scopegate.db'}"
        auth = start_auth_server(db_url, workdir, extra_env={"SCOPEGATE_DPOP_NONCE": "1"})
        api = start_example_api(auth.url, workdir, extra_env={
            "SCOPEGATE_GUARD_DPOP_NONCE_SECRET": "an API secret of at least 16 bytes"})
        try:
            stack = Stack(auth.url, api.url, plain.public_client_id, plain.service_client_id,
                          plain.service_client_secret, plain.users)
            stack.metadata = httpx.get(auth.url + "/.well-known/openid-configuration").json()
            yield stack
        finally:
            api.stop()
            auth.stop()


def _environments(config: Path, stack: Stack) -> Path:
    write_config(config, stack)
    path = config / "environments.json"
    doc = json.loads(path.read_text())
    doc["environments"]["svc-readonly"]["dpop"] = True
    path.write_text(json.dumps(doc))
    return config


def _claims(stack: Stack, token: str) -> dict[str, Any]:
    key = jwt.PyJWKClient(stack.metadata["jwks_uri"]).get_signing_key_from_jwt(token)
    decoded: dict[str, Any] = jwt.decode(token, key.key, algorithms=["ES256"],
                                         options={"verify_aud": False})
    return decoded


def test_the_sdk_gets_bound_tokens_follows_nonces_and_steps_up(dpop_stack: Stack,
                                                               tmp_path: Path) -> None:
    config = _environments(tmp_path / "config", dpop_stack)
    store = FileTokenStore(tmp_path / "tokens.json")
    session = session_from_env("svc-readonly", config=config, cache=TokenCache(store),
                               interactive=False)
    sent: list[str] = []
    hooks = {"response": [lambda r: sent.append(f"{r.request.method} {r.status_code}")]}
    with ApiClient(session, base_url=dpop_stack.api_url, event_hooks=hooks) as api:
        read = api.get(READ_PATH)
        ran = api.post(RUN_PATH, json={})  # 403 insufficient_scope: step up, retry once
    assert read.status_code == 200, read.text
    assert ran.status_code == 200, ran.text
    token = session.get_token(["apps:run"])
    assert token.token_type == "DPoP"
    assert session.dpop is not None
    assert _claims(dpop_stack, token.access_token)["cnf"] == {"jkt": session.dpop.key.jkt}
    # Each server asked for its nonce once; the SDK resent once each time, then kept it.
    assert sent.count("POST 400") == 1 and sent.count("GET 401") == 1
    # The key lives in the token store's 0600 file, next to the tokens, and is reused.
    doc = json.loads((tmp_path / "tokens.json").read_text())
    assert [k for k in doc["tokens"] if k.startswith("dpop-key:")]
    assert stat.S_IMODE(os.stat(tmp_path / "tokens.json").st_mode) == 0o600
    again = session_from_env("svc-readonly", config=config,
                             cache=TokenCache(FileTokenStore(tmp_path / "tokens.json")),
                             interactive=False)
    assert again.dpop is not None and again.dpop.key.jkt == session.dpop.key.jkt


def test_a_bound_token_is_useless_without_the_key(dpop_stack: Stack, tmp_path: Path) -> None:
    config = _environments(tmp_path / "config", dpop_stack)
    session = session_from_env("svc-readonly", config=config, cache=TokenCache(),
                               interactive=False)
    token = session.get_token()
    url = dpop_stack.api_url + READ_PATH
    as_bearer = httpx.get(url, headers={"Authorization": f"Bearer {token.access_token}"})
    assert as_bearer.status_code == 401
    assert as_bearer.headers["www-authenticate"].startswith("DPoP ")
    assert as_bearer.json()["error"] == "invalid_token"
    assert session.dpop is not None
    stolen = {"Authorization": f"DPoP {token.access_token}",
              "DPoP": session.dpop.proof("GET", url, token.access_token)}
    first = httpx.get(url, headers=stolen)  # the nonce first, as any client gets it
    session.dpop.remember_nonce(url, first.headers)
    stolen["DPoP"] = session.dpop.proof("GET", url, token.access_token)
    ok = httpx.get(url, headers=stolen)
    replayed = httpx.get(url, headers=stolen)
    assert first.status_code == 401 and ok.status_code == 200, ok.text
    assert replayed.status_code == 401
    assert replayed.json()["error"] == "invalid_dpop_proof"


def test_bearer_sessions_still_work_beside_dpop(dpop_stack: Stack, tmp_path: Path) -> None:
    config = _environments(tmp_path / "config", dpop_stack)
    session = session_from_env("svc", config=config, cache=TokenCache(), interactive=False)
    with ApiClient(session, base_url=dpop_stack.api_url) as api:
        assert api.get(READ_PATH).status_code == 200
    assert session.get_token().token_type == "Bearer"
