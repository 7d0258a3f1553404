"""Helpers that drive the interactive pages like a browser would (for in-process tests)."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from starlette.applications import Starlette
from starlette.testclient import TestClient

from scopegate.server.admin.client_spec import ClientSpec
from scopegate.server.admin.clients import register_client
from scopegate.server.admin.users import create_user
from scopegate.server.crypto.passwords import hash_password
from scopegate.server.state import ServerState
from scopegate.store.repositories.users import UserRecord

REDIRECT = "http://127.0.0.1/callback"
PASSWORD = "correct horse battery"
DEVICE = "urn:ietf:params:oauth:grant-type:device_code"
ALL_GRANTS = ("authorization_code", "refresh_token", DEVICE)
SCOPES = ("openid", "profile", "email", "offline_access", "api", "apps:read", "apps:run",
          "apps:write", "workspace:read")

_HASH_CACHE: dict[str, str] = {}


def make_user(state: ServerState, role: str = "member", password: str = PASSWORD,
              name: str | None = "Ada Lovelace") -> UserRecord:
    """A user with a unique email (the argon2 hash is computed once per password)."""
    hashed = _HASH_CACHE.get(password) or _HASH_CACHE.setdefault(password,
                                                                 hash_password(password))
    return create_user(state.db, email=f"u{uuid.uuid4().hex[:10]}@example.org",
                       password_hash=hashed, role=role, name=name)


def make_client(state: ServerState, *, public: bool = True,
                grants: tuple[str, ...] = ALL_GRANTS, scopes: tuple[str, ...] = SCOPES,
                defaults: tuple[str, ...] = ("openid", "api"),
                redirect_uris: tuple[str, ...] = (REDIRECT,),
                name: str = "Test CLI") -> tuple[str, str]:
    """Register a client in the store; returns (client_id, secret or "")."""
    spec = ClientSpec(name=name, grant_types=grants, allowed_scopes=frozenset(scopes),
                      default_scopes=frozenset(defaults), redirect_uris=redirect_uris,
                      public=public)
    record, secret = register_client(state.db, state.pepper, spec)
    return record.client_id, secret


def pkce_pair() -> tuple[str, str]:
    """(verifier, S256 challenge)."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def hidden(html: str, name: str) -> str:
    """The value of a hidden input in a page."""
    found = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert found, f"no hidden field {name!r} in page"
    return found.group(1).replace("&amp;", "&")


def login(http: TestClient, email: str, password: str = PASSWORD,
          next_path: str = "/device") -> httpx.Response:
    """Log in through the real form (GET for the CSRF token, then POST)."""
    page = http.get("/login", params={"next": next_path})
    assert page.status_code == 200
    return http.post("/login", data={"csrf": hidden(page.text, "csrf"), "email": email,
                                     "password": password, "next": next_path},
                     follow_redirects=False)


def authorize_params(client_id: str, challenge: str, **extra: str) -> dict[str, str]:
    """A valid authorization request."""
    params = {"response_type": "code", "client_id": client_id,
              "redirect_uri": "http://127.0.0.1:5555/callback", "scope": "openid api",
              "state": "st-1", "code_challenge": challenge, "code_challenge_method": "S256",
              "nonce": "n-1"}
    params.update(extra)
    return params


def redirect_query(response: httpx.Response) -> dict[str, str]:
    """The query of a redirect's Location, one value per key."""
    assert response.status_code in (302, 303), response.text[:300]
    location = response.headers["location"]
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def approve(http: TestClient, consent_page: httpx.Response,
            decision: str = "approve") -> httpx.Response:
    """Press Allow (or Deny) on a consent page."""
    assert consent_page.status_code == 200, consent_page.text[:300]
    return http.post("/oauth/authorize/decision",
                     data={"csrf": hidden(consent_page.text, "csrf"),
                           "request": hidden(consent_page.text, "request"),
                           "decision": decision}, follow_redirects=False)


def get_code(http: TestClient, client_id: str, **extra: str) -> tuple[str, str, dict[str, str]]:
    """Run authorize (+ consent if asked) for a logged-in browser; (code, verifier, params)."""
    verifier, challenge = pkce_pair()
    params = authorize_params(client_id, challenge, **extra)
    response = http.get("/oauth/authorize", params=params, follow_redirects=False)
    if response.status_code == 200:
        response = approve(http, response)
    query = redirect_query(response)
    assert "code" in query, query
    return query["code"], verifier, params


def exchange(http: TestClient, client_id: str, code: str, verifier: str,
             redirect_uri: str = "http://127.0.0.1:5555/callback",
             secret: str = "") -> httpx.Response:
    """POST the code to the token endpoint."""
    data: dict[str, Any] = {"grant_type": "authorization_code", "code": code,
                            "redirect_uri": redirect_uri, "code_verifier": verifier}
    if secret:
        return http.post("/oauth/token", data=data, auth=(client_id, secret))
    return http.post("/oauth/token", data={**data, "client_id": client_id})


def refresh(http: TestClient, client_id: str, token: str, **extra: str) -> httpx.Response:
    """POST a refresh-token grant as a public client."""
    return http.post("/oauth/token", data={"grant_type": "refresh_token",
                                           "refresh_token": token, "client_id": client_id,
                                           **extra})



def token_claims(token: str) -> dict[str, Any]:
    """A JWT's claims, unverified (a test that checks signatures uses a real guard)."""
    payload = token.split(".")[1]
    padded = payload + "=" * (-len(payload) % 4)
    claims: dict[str, Any] = json.loads(base64.urlsafe_b64decode(padded))
    return claims


def open_browser(app: Starlette, state: ServerState) -> Iterator[TestClient]:
    """A fresh browser (its own cookie jar) on the module's running app (fixture body)."""
    client = TestClient(app, raise_server_exceptions=False)
    state.user_grants.login_limits.failures_per_address = 10_000
    yield client
    client.close()


def log_in_new_member(browser: TestClient, state: ServerState,
                      role: str = "member") -> TestClient:
    """Create a user and log the browser in as them (fixture body)."""
    user = make_user(state, role=role)
    assert login(browser, user.email).status_code == 303
    return browser
