"""A real, tiny authorization-server stand-in for guard tests: JWKS, metadata, introspection,
and a client-credentials token endpoint (for the SDK finding its way from an API's URL).

It runs on uvicorn in a background thread on a free 127.0.0.1 port, so the guard talks
real HTTP to it. Tests change its keys and introspection answers and read its counters.
"""

from __future__ import annotations

import base64
import json
import socket
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import jwt
import uvicorn
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

AUDIENCE = "https://api.scopegate.example"
RS_CLIENT_ID = "example-api"
RS_CLIENT_SECRET = "rs-secret-123"
SDK_CLIENT_ID = "sdk-client"
SDK_CLIENT_SECRET = "sdk-secret-456"


@dataclass
class SigningKey:
    kid: str
    alg: str
    private: Any

    def public_jwk(self) -> dict[str, Any]:
        if self.alg == "EdDSA":
            from jwt.algorithms import OKPAlgorithm

            out = json.loads(OKPAlgorithm.to_jwk(self.private.public_key()))
        else:
            from jwt.algorithms import ECAlgorithm

            out = json.loads(ECAlgorithm.to_jwk(self.private.public_key()))
        out.update(kid=self.kid, alg=self.alg, use="sig")
        return out


def new_es256_key(kid: str | None = None) -> SigningKey:
    return SigningKey(kid or uuid.uuid4().hex[:8], "ES256", ec.generate_private_key(ec.SECP256R1()))


def new_eddsa_key(kid: str | None = None) -> SigningKey:
    return SigningKey(kid or uuid.uuid4().hex[:8], "EdDSA", ed25519.Ed25519PrivateKey.generate())


@dataclass
class AuthServer:
    """State served by the stand-in; mutate it from tests."""

    base_url: str = ""
    keys: list[SigningKey] = field(default_factory=list)
    introspection: dict[str, dict[str, Any]] = field(default_factory=dict)
    hits: Counter[str] = field(default_factory=Counter)
    introspect_status: int = 200
    token_forms: list[dict[str, str]] = field(default_factory=list)

    @property
    def issuer(self) -> str:
        return self.base_url

    def mint(self, key: SigningKey | None = None, *, header: dict[str, Any] | None = None,
             **claims: Any) -> str:
        key = key or self.keys[0]
        now = int(time.time())
        body: dict[str, Any] = {
            "iss": self.issuer,
            "sub": "user-1",
            "aud": AUDIENCE,
            "exp": now + 600,
            "iat": now,
            "jti": uuid.uuid4().hex,
            "client_id": "cli",
            "scope": "apps:read",
            "subject_type": "user",
        }
        body.update(claims)
        body = {k: v for k, v in body.items() if v is not None}
        headers = {"typ": "at+jwt", "kid": key.kid}
        headers.update(header or {})
        headers = {k: v for k, v in headers.items() if v is not None}  # None: left out
        return jwt.encode(body, key.private, algorithm=key.alg, headers=headers)

    def reset(self) -> None:
        self.keys[:] = [new_es256_key("k1")]
        self.introspection.clear()
        self.hits.clear()
        self.introspect_status = 200
        self.token_forms.clear()


def _app(state: AuthServer) -> Starlette:
    async def metadata(request: Request) -> Response:
        state.hits["metadata"] += 1
        return JSONResponse({
            "issuer": state.issuer,
            "jwks_uri": f"{state.issuer}/jwks.json",
            "introspection_endpoint": f"{state.issuer}/oauth/introspect",
            "token_endpoint": f"{state.issuer}/oauth/token",
        })

    async def jwks(request: Request) -> Response:
        state.hits["jwks"] += 1
        return JSONResponse({"keys": [k.public_jwk() for k in state.keys]})

    async def introspect(request: Request) -> Response:
        state.hits["introspect"] += 1
        expected = "Basic " + base64.b64encode(
            f"{RS_CLIENT_ID}:{RS_CLIENT_SECRET}".encode()).decode()
        if request.headers.get("authorization") != expected:
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        if state.introspect_status != 200:
            return JSONResponse({"error": "server_error"}, status_code=state.introspect_status)
        form = await request.form()
        token = str(form.get("token", ""))
        return JSONResponse(state.introspection.get(token, {"active": False}))

    async def token(request: Request) -> Response:
        """Client credentials: the token's ``aud`` is the RFC 8707 ``resource`` asked for."""
        expected = "Basic " + base64.b64encode(
            f"{SDK_CLIENT_ID}:{SDK_CLIENT_SECRET}".encode()).decode()
        if request.headers.get("authorization") != expected:
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        form = {k: str(v) for k, v in (await request.form()).items()}
        state.token_forms.append(form)
        scope = form.get("scope", "")
        access = state.mint(aud=form.get("resource", AUDIENCE), scope=scope,
                            client_id=SDK_CLIENT_ID, sub=SDK_CLIENT_ID)
        return JSONResponse({"access_token": access, "token_type": "Bearer",
                             "expires_in": 600, "scope": scope})

    return Starlette(routes=[
        Route("/.well-known/oauth-authorization-server", metadata),
        Route("/jwks.json", jwks),
        Route("/oauth/introspect", introspect, methods=["POST"]),
        Route("/oauth/token", token, methods=["POST"]),
    ])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServerThread:
    """Runs an ASGI app on uvicorn in a daemon thread until :meth:`stop`."""

    def __init__(self, app: Any, port: int | None = None) -> None:
        self.port = port or free_port()
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning",
                                lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("test server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=5)


def start_auth_server() -> tuple[AuthServer, ServerThread]:
    state = AuthServer()
    thread = ServerThread(_app(state))
    state.base_url = f"http://127.0.0.1:{thread.port}"
    state.reset()
    return state, thread.start()
