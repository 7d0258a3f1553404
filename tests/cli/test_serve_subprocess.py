"""``scopegate serve`` as a real process: zero set-up, then the curl client_credentials flow."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import jwt
import pytest

SCOPEGATE = str(Path(sys.executable).with_name("scopegate"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    port = free_port()
    env = {**os.environ, "SCOPEGATE_DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.db'}"}
    proc = subprocess.Popen([SCOPEGATE, "serve", "--port", str(port)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
            try:
                httpx.get(base + "/jwks.json", timeout=1).raise_for_status()
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.1)
        yield base, env
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_fresh_database_serve_create_client_and_get_a_token(
        server: tuple[str, dict[str, str]]) -> None:
    base, env = server
    created = subprocess.run(
        [SCOPEGATE, "clients", "create", "--name", "ci-bot", "--grant", "client_credentials",
         "--scope", "api", "--scope", "apps:read", "--json"],
        env=env, capture_output=True, text=True, check=True)
    creds = json.loads(created.stdout)
    r = httpx.post(base + "/oauth/token", data={"grant_type": "client_credentials",
                                                "scope": "api"},
                   auth=(creds["client_id"], creds["client_secret"]))
    assert r.status_code == 200, r.text
    token = r.json()["access_token"]
    meta = httpx.get(base + "/.well-known/oauth-authorization-server").json()
    jwks = jwt.PyJWKClient(meta["jwks_uri"])
    claims = jwt.decode(token, jwks.get_signing_key_from_jwt(token).key, algorithms=["ES256"],
                        audience="https://api.scopegate.example", issuer=base)
    assert claims["client_id"] == creds["client_id"]
    assert jwt.get_unverified_header(token)["typ"] == "at+jwt"
