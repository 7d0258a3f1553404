"""Flask extension: deny by default, decorator, answers, audit, one limiter hit per request."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from flask import Flask, request

from scopegate.guard import public, requires
from scopegate.guard.adapters.flask import ScopeGate, current_caller

from .authserver import AuthServer
from .conftest import CountingLimiter, MakeGuard


@pytest.fixture
def app(make_guard: MakeGuard) -> Iterator[Flask]:
    app = Flask(__name__)
    gate = ScopeGate(app, make_guard())

    @app.get("/apps")
    @requires("apps:read")
    def list_apps() -> dict[str, str]:
        return {"caller": current_caller().subject}

    @app.post("/apps/run")
    @requires("apps:run")
    def run_app() -> dict[str, object]:
        return {"ran_as": current_caller().subject, "body_user": request.json["user"]}

    @app.get("/health")
    @public
    def health() -> str:
        return "ok"

    @app.get("/forgotten")
    def forgotten() -> str:
        return "secret"

    yield app
    gate.close()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_declared_route_and_identity_from_token(app: Flask, server: AuthServer) -> None:
    http = app.test_client()
    assert http.get("/apps", headers=bearer(server.mint(sub="zoe"))).json == {"caller": "zoe"}
    ran = http.post("/apps/run", headers=bearer(server.mint(scope="apps:run")),
                    json={"user": "mallory"})
    assert ran.json == {"ran_as": "user-1", "body_user": "mallory"}


def test_deny_by_default_and_public(app: Flask, server: AuthServer) -> None:
    http = app.test_client()
    denied = http.get("/forgotten", headers=bearer(server.mint(scope="scopegate:all")))
    assert denied.status_code == 403 and b"secret" not in denied.data
    assert http.get("/health").data == b"ok"
    assert http.get("/missing").status_code == 404


def test_answers(app: Flask, server: AuthServer) -> None:
    http = app.test_client()
    missing = http.get("/apps")
    assert missing.status_code == 401 and missing.json["error"] == "invalid_token"
    assert missing.headers["WWW-Authenticate"].startswith('Bearer realm="scopegate"')
    scope = http.post("/apps/run", headers=bearer(server.mint()), json={"user": "x"})
    assert scope.status_code == 403 and scope.json["scope"] == "apps:run"
    assert 'error="insufficient_scope"' in scope.headers["WWW-Authenticate"]
    token = bearer(server.mint())
    codes = [http.get("/apps", headers=token).status_code for _ in range(61)]
    assert codes[-1] == 429 and codes[:60] == [200] * 60
    limited = http.get("/apps", headers=token)
    assert limited.json["error"] == "rate_limited" and limited.headers["Retry-After"].isdigit()


def test_audit_and_single_limit_hit(app: Flask, server: AuthServer, limiter: CountingLimiter,
                                    caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="scopegate.audit")
    app.test_client().get("/apps", headers=bearer(server.mint()))
    assert limiter.token_hits() == 1
    events = [r for r in caplog.records if getattr(r, "audit", False)]
    assert [(e.__dict__["route"], e.__dict__["status"]) for e in events] == [("/apps", 200)]
