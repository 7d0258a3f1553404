"""The server and the guard judge access tokens alike: one verifier, one claims policy.

Every variant of the shared corpus (spellings and corruptions of a compact JWS, then
header and claim changes, each properly signed by the server's access-token key) gets
the same verdict from the server's RFC 7662 introspection and from a guard that reads
the server's JWKS over HTTP (httpx's ASGITransport to the app under test).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import jwt
import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from scopegate.errors import InvalidToken
from scopegate.guard import Authenticator, GuardConfig
from scopegate.ratelimit import MemoryRateLimiter
from scopegate.scopes import default_catalog
from scopegate.server.state import ServerState
from scopegate.store.models.users import User
from scopegate.tokens import SigningKeyPair, access_token_claims
from tokens.corpus import corpus

ClientFactory = Callable[..., tuple[str, str]]
ISSUER = "http://testserver"
API = "https://api.scopegate.example"


def _minter(state: ServerState) -> Callable[..., str]:
    """Sign like the server does, with any header or claim changed (None leaves it out)."""
    repo = state.signing_keys.repo
    alg = state.signing_keys.signer.alg
    record = next(r for r in repo.published() if r.active and r.alg == alg)
    key = SigningKeyPair.from_pem(repo.private_pem(record), record.alg, record.kid)

    def mint(header: dict[str, Any] | None = None, **claims: Any) -> str:
        now = int(time.time())
        body = {"iss": ISSUER, "sub": "usr_1", "aud": API, "exp": now + 300, "iat": now,
                "jti": uuid.uuid4().hex, "client_id": "cli", "scope": "apps:read",
                "subject_type": "user", **claims}
        head = {"typ": "at+jwt", "kid": key.kid, **(header or {})}
        return jwt.encode({k: v for k, v in body.items() if v is not None}, key.private_key,
                          algorithm=key.alg,
                          headers={k: v for k, v in head.items() if v is not None})

    return mint


def _guard_verdicts(app: Starlette, tokens: list[str]) -> list[bool]:
    async def run() -> list[bool]:
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=ISSUER)
        config = GuardConfig(issuer=ISSUER, audience=API, audience_mode="enforce")
        auth = Authenticator(config, catalog=default_catalog(), limiter=MemoryRateLimiter(),
                             http=http)
        verdicts = []
        for token in tokens:
            try:
                await auth.authenticate(token)
            except InvalidToken:
                verdicts.append(False)
            else:
                verdicts.append(True)
        await http.aclose()
        return verdicts

    return asyncio.run(run())


def test_introspection_and_the_guard_agree_on_every_variant(
        http: TestClient, app: Starlette, state: ServerState,
        make_client: ClientFactory) -> None:
    resource_server = make_client(resource_servers=(API,))
    variants = corpus(_minter(state))
    assert len(variants) > 60
    names, tokens = list(variants), list(variants.values())
    server = [http.post("/oauth/introspect", data={"token": t}, auth=resource_server)
              .json()["active"] for t in tokens]
    guard = _guard_verdicts(app, tokens)
    disagree = {name: {"server": s, "guard": g}
                for name, s, g in zip(names, server, guard, strict=True) if s != g}
    assert not disagree, "\n".join(f"{name}: {verdicts}" for name, verdicts in disagree.items())
    accepted = {name for name, ok in zip(names, server, strict=True) if ok}
    assert {"typ='at+jwt'", "typ='application/at+jwt'", "typ='AT+JWT'",
            "typ='Application/At+Jwt'", "service subject"} <= accepted
    assert not accepted & {"typ='JWT'", "no jti", "no client_id", "no sub", "crit header"}


@pytest.fixture
def user_token(state: ServerState) -> str:
    """A user's token for the management API and UserInfo, typed the long RFC 9068 way."""
    user_id = f"usr_{uuid.uuid4().hex[:12]}"
    with state.db.session() as session:
        session.add(User(id=user_id, email=f"{user_id}@example.com", password_hash="x",
                         role="member"))
    claims = access_token_claims(issuer=ISSUER, subject=user_id, subject_type="user",
                                 client_id="cli",
                                 audience=(ISSUER + "/api/v1/", ISSUER + "/userinfo"),
                                 scopes=["openid", "keys:read"], ttl=300)
    return state.signing_keys.signer.sign(claims, typ="Application/AT+JWT")


@pytest.mark.parametrize("path", ["/api/v1/keys", "/userinfo"])
def test_server_bearer_readers_share_the_parser_and_the_verifier(
        http: TestClient, user_token: str, path: str) -> None:
    for scheme in ("Bearer", "bearer", "BEARER"):
        answer = http.get(path, headers={"Authorization": f"{scheme} {user_token}"})
        assert answer.status_code == 200, (scheme, answer.text)
    for header in (f"Bearer {user_token} extra", "Bearer " + "x" * 9000, "Bearer a,b"):
        answer = http.get(path, headers={"Authorization": header})
        assert answer.status_code == 401 and answer.json()["error"] == "invalid_token"
    for header in ("Basic dXNlcjpwYXNz", "Bearer"):
        answer = http.get(path, headers={"Authorization": header})
        assert answer.status_code == 401
        assert answer.headers["WWW-Authenticate"].startswith("Bearer")
