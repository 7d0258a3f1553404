"""A fake authorization server and API on httpx.MockTransport, for client unit tests.

It speaks the real wire formats (RFC 8414 metadata, RFC 6749 form posts, RFC 9068-style
JWT access tokens, RFC 6750 challenges) so the client code under test is unchanged.
"""

from __future__ import annotations

import base64
import threading
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import jwt
import pytest

from scopegate.client import Token
from scopegate.client._cache import TokenCache
from scopegate.client._flow import Flow
from scopegate.client._providers import TokenProvider

ISSUER = "https://auth.example.test"
API = "https://api.example.test"


@dataclass
class FakeIssuer:
    """Issues tokens for the scopes asked, minus ``declined``; counts token requests."""

    allowed: set[str] = field(
        default_factory=lambda: {
            "api",
            "apps:read",
            "apps:write",
            "openid",
            "profile",
            "email",
            "offline_access",
            "keys:read",
        }
    )
    declined: set[str] = field(default_factory=set)
    subject: str = "user-1"
    opaque: bool = False
    echo_scope: bool = True
    claim: str = "scope"
    expires_in: int = 3600
    token_hits: int = 0
    grants: list[str] = field(default_factory=list)
    requested: list[str] = field(default_factory=list)
    api_requires: set[str] = field(default_factory=set)
    api_calls: int = 0
    refresh_ok: bool = True
    device_answers: list[str] = field(default_factory=list)
    issued: dict[str, set[str]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    delay: float = 0.0
    counter: int = 0
    device_scope: str = ""
    refresh_scopes: dict[str, set[str]] = field(default_factory=dict)
    revoked: list[str] = field(default_factory=list)

    def mint(self, scopes: set[str], client_id: str) -> dict[str, Any]:
        self.counter += 1
        granted = (scopes & self.allowed) - self.declined
        if self.opaque:
            access = f"opaque-{self.counter}"
        else:
            value: Any = " ".join(sorted(granted))
            if self.claim == "scp_list":
                value = sorted(granted)
            claims = {
                "iss": ISSUER,
                "sub": self.subject,
                "aud": API,
                "client_id": client_id,
                "exp": int(time.time()) + self.expires_in,
                "jti": str(self.counter),
                ("scp" if self.claim.startswith("scp") else "scope"): value,
            }
            access = jwt.encode(claims, "test-secret-key-that-is-long-enough!!", algorithm="HS256")
        self.issued[access] = granted
        self.refresh_scopes[f"refresh-{self.counter}"] = granted
        body: dict[str, Any] = {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": self.expires_in,
            "refresh_token": f"refresh-{self.counter}",
        }
        if self.echo_scope:
            body["scope"] = " ".join(sorted(granted))
        return body

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/.well-known/oauth-authorization-server":
            return httpx.Response(
                200,
                json={
                    "issuer": ISSUER,
                    "token_endpoint": ISSUER + "/oauth/token",
                    "authorization_endpoint": ISSUER + "/oauth/authorize",
                    "device_authorization_endpoint": ISSUER + "/oauth/device_authorization",
                    "revocation_endpoint": ISSUER + "/oauth/revoke",
                },
            )
        if path == "/oauth/device_authorization":
            self.device_scope = dict(urllib.parse.parse_qsl(request.content.decode()))["scope"]
            return httpx.Response(
                200,
                json={
                    "device_code": "dev-1",
                    "user_code": "ABCD-EFGH",
                    "verification_uri": ISSUER + "/device",
                    "expires_in": 600,
                    "interval": 5,
                },
            )
        if path == "/oauth/token":
            if self.delay:
                time.sleep(self.delay)
            with self.lock:
                self.token_hits += 1
            form = dict(urllib.parse.parse_qsl(request.content.decode()))
            grant = form["grant_type"]
            self.grants.append(grant)
            self.requested.append(form.get("scope", ""))
            client_id = form.get("client_id")
            auth = request.headers.get("authorization", "")
            if auth.startswith("Basic "):
                client_id = urllib.parse.unquote(
                    base64.b64decode(auth[6:]).decode().split(":", 1)[0]
                )
            if grant == "refresh_token":
                if not self.refresh_ok:
                    return httpx.Response(400, json={"error": "invalid_grant"})
                return httpx.Response(200, json=self.mint(self.last_scopes(form), client_id or ""))
            if grant == "urn:ietf:params:oauth:grant-type:device_code":
                answer = self.device_answers.pop(0) if self.device_answers else "ok"
                if answer != "ok":
                    return httpx.Response(400, json={"error": answer})
                form["scope"] = self.device_scope
            return httpx.Response(
                200, json=self.mint(set(form.get("scope", "").split()), client_id or "")
            )
        if path == "/oauth/revoke":
            self.revoked.append(dict(urllib.parse.parse_qsl(request.content.decode()))["token"])
            return httpx.Response(200)  # RFC 7009 §2.2: also for unknown tokens
        if request.url.host == "api.example.test":
            self.api_calls += 1
            auth = request.headers.get("authorization", "")
            token = auth.removeprefix("Bearer ")
            if token not in self.issued:
                return httpx.Response(
                    401, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'}
                )
            if not self.api_requires <= self.issued[token]:
                need = " ".join(sorted(self.api_requires))
                return httpx.Response(
                    403,
                    headers={
                        "WWW-Authenticate": f'Bearer error="insufficient_scope", scope="{need}"'
                    },
                )
            return httpx.Response(200, json={"ok": True, "body": request.content.decode()})
        return httpx.Response(404)

    def last_scopes(self, form: dict[str, str]) -> set[str]:
        # Refresh keeps the scopes of the token being refreshed (RFC 6749 §6).
        return set(self.refresh_scopes.get(form.get("refresh_token", ""), set()))


@pytest.fixture
def issuer() -> FakeIssuer:
    return FakeIssuer()


@pytest.fixture
def transport(issuer: FakeIssuer) -> httpx.MockTransport:
    return httpx.MockTransport(issuer)


@pytest.fixture
def http(transport: httpx.MockTransport) -> Iterator[httpx.Client]:
    with httpx.Client(transport=transport) as client:
        yield client


@pytest.fixture
def cache() -> TokenCache:
    return TokenCache()


class FakeLoginProvider(TokenProvider):
    """An interactive provider whose "browser" step is skipped; records each login."""

    default_scopes = ("openid", "profile", "email", "offline_access", "api")

    def __init__(self, issuer: FakeIssuer, **kwargs: Any) -> None:
        super().__init__(ISSUER, "cli-app", **kwargs)
        self.fake = issuer
        self.logins: list[frozenset[str]] = []
        self.login_subject: str | None = None

    def acquire_flow(self, scopes: frozenset[str]) -> Flow[Token]:
        self.logins.append(scopes)
        if self.login_subject is not None:
            self.fake.subject = self.login_subject
        form = {"grant_type": "authorization_code", "code": "c", "scope": " ".join(sorted(scopes))}
        return (yield from self.token_request_flow(form, scopes))
