"""/healthz and /readyz in every adapter: no token, no declaration, the failing dependency named."""

from __future__ import annotations

import time

import pytest
from prometheus_client import REGISTRY

from scopegate.guard import health

from .authserver import AuthServer
from .conftest import MakeGuard
from .test_protected_resource import ADAPTERS, adapter

UNREACHABLE = "http://127.0.0.1:1"


@pytest.mark.parametrize("name", ADAPTERS)
def test_probes_answer_without_a_token_or_a_declaration(name: str,
                                                        make_guard: MakeGuard) -> None:
    with adapter(name, make_guard()) as send:
        alive, ready = send("GET", "/healthz"), send("GET", "/readyz")
        head = send("HEAD", "/readyz")
    assert alive.status == 200 and alive.json() == {"status": "ok"}
    assert ready.status == 200
    assert ready.json() == {"status": "ok", "checks": {"authorization_server": "ok"}}
    assert head.status == 200 and head.text == ""
    for answer in (alive, ready):
        assert answer.headers["Cache-Control"] == "no-store"
        assert "WWW-Authenticate" not in answer.headers


@pytest.mark.parametrize("name", ADAPTERS)
def test_readyz_names_an_unreachable_authorization_server(name: str,
                                                          make_guard: MakeGuard) -> None:
    guard = make_guard(issuer=UNREACHABLE, audience_mode="off", audience=None)
    with adapter(name, guard) as send:
        started = time.monotonic()
        ready = send("GET", "/readyz")
        took = time.monotonic() - started
        alive = send("GET", "/healthz")
    assert ready.status == 503
    assert ready.json()["status"] == "unavailable"  # type: ignore[index]
    assert ready.json()["checks"]["authorization_server"] != "ok"  # type: ignore[index]
    assert took < 2 * health.CHECK_TIMEOUT + 1
    assert alive.status == 200  # alive, just not ready


def test_keys_already_held_keep_the_guard_ready_while_the_issuer_is_away(
        make_guard: MakeGuard, server: AuthServer) -> None:
    guard = make_guard()
    with adapter("starlette", guard) as send:
        assert send("GET", "/readyz").status == 200  # fetched the keys
        guard.authenticator.jwks._jwks_uri = f"{UNREACHABLE}/jwks.json"
        guard.readiness._checked_at = float("-inf")  # past the one-second verdict
        assert send("GET", "/readyz").status == 200  # held keys still verify tokens


def test_readyz_names_an_unreachable_redis(make_guard: MakeGuard) -> None:
    guard = make_guard(redis_url="redis://127.0.0.1:1/0")
    with adapter("starlette", guard) as send:
        ready = send("GET", "/readyz")
    assert ready.status == 503
    checks = ready.json()["checks"]  # type: ignore[index]
    assert checks["authorization_server"] == "ok" and checks["redis"] != "ok"


def test_readyz_with_redis_up(make_guard: MakeGuard, redis_url: str) -> None:
    with adapter("fastapi", make_guard(redis_url=redis_url)) as send:
        ready = send("GET", "/readyz")
    assert ready.status == 200
    assert ready.json()["checks"] == {"authorization_server": "ok", "redis": "ok"}


@pytest.mark.parametrize("name", ADAPTERS)
def test_probe_paths_can_move_out_of_the_apis_way(name: str, make_guard: MakeGuard) -> None:
    guard = make_guard()
    guard.probe_paths = ("/ops/live", "/ops/ready")
    with adapter(name, guard) as send:
        assert send("GET", "/ops/live").status == 200
        assert send("GET", "/ops/ready").status == 200
        assert send("GET", "/healthz").status == 404


@pytest.mark.parametrize("name", ADAPTERS)
def test_each_decision_is_timed_by_outcome(name: str, make_guard: MakeGuard,
                                           server: AuthServer) -> None:
    def count(outcome: str) -> float:
        value = REGISTRY.get_sample_value(
            "scopegate_guard_check_duration_seconds_count", {"outcome": outcome})
        return value or 0.0

    allowed, unauthenticated, forbidden = count("allowed"), count("401"), count("403")
    reader = {"Authorization": f"Bearer {server.mint(scope='apps:read')}"}
    with adapter(name, make_guard()) as send:
        assert send("GET", "/apps", reader).status == 200
        assert send("POST", "/run", reader).status == 403
        assert send("GET", "/apps").status == 401
        send("GET", "/healthz")  # probes are not decisions
    assert count("allowed") == allowed + 1
    assert count("403") == forbidden + 1
    assert count("401") == unauthenticated + 1
