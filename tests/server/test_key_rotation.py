"""Signing-key rotation: new tokens use the new key, old tokens keep verifying."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import jwt
from starlette.testclient import TestClient

from scopegate.server.signing.signing_keys import rotate_signing_key
from scopegate.server.state import ServerState

ClientFactory = Callable[..., tuple[str, str]]


def test_rotation_keeps_old_keys_published_until_their_tokens_expire(
        http: TestClient, make_client: ClientFactory, state: ServerState) -> None:
    client = make_client()
    old = http.post("/oauth/token", data={"grant_type": "client_credentials"},
                    auth=client).json()["access_token"]
    old_kid = jwt.get_unverified_header(old)["kid"]
    repo = state.signing_keys.repo
    new_kid = rotate_signing_key(repo, "ES256", timedelta(hours=1))
    state.signing_keys.reload()  # what the server's periodic reload does
    kids = [k["kid"] for k in http.get("/jwks.json").json()["keys"]]
    assert new_kid in kids and old_kid in kids
    new = http.post("/oauth/token", data={"grant_type": "client_credentials"},
                    auth=client).json()["access_token"]
    assert jwt.get_unverified_header(new)["kid"] == new_kid
    for tok in (old, new):
        r = http.post("/oauth/introspect", data={"token": tok}, auth=client)
        assert r.json()["active"] is True
    # A key whose retention has passed leaves JWKS; one still retained stays.
    newest = rotate_signing_key(repo, "ES256", timedelta(seconds=-1))
    state.signing_keys.reload()
    kids = [k["kid"] for k in http.get("/jwks.json").json()["keys"]]
    assert new_kid not in kids and old_kid in kids and newest in kids
    r = http.post("/oauth/introspect", data={"token": new}, auth=client)
    assert r.json() == {"active": False}
