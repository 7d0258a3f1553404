"""Probes: /healthz answers without I/O, /readyz names the dependency that fails."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from scopegate.server.app import create_app
from scopegate.server.ops import health

from .conftest import settings_for
from .test_database_outage import SqliteOutage


def test_probes_answer_without_credentials_and_are_not_cached(http: TestClient) -> None:
    alive = http.get("/healthz")
    assert alive.status_code == 200 and alive.json() == {"status": "ok"}
    ready = http.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ok", "checks": {"database": "ok"}}
    for answer in (alive, ready):
        assert answer.headers["cache-control"] == "no-store"
        assert "access-control-allow-origin" not in answer.headers


def test_readyz_names_the_lost_database_and_recovers(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(health, "VERDICT_SECONDS", 0.0)
    outage = SqliteOutage(tmp_path)
    outage.home.mkdir()
    with TestClient(create_app(settings_for(outage.url))) as http:
        assert http.get("/readyz").status_code == 200
        outage.cut(http.app.state.server)  # type: ignore[attr-defined]
        try:
            lost = http.get("/readyz")
            assert lost.status_code == 503
            assert lost.json()["status"] == "unavailable"
            assert lost.json()["checks"]["database"].startswith("unreachable")
            assert http.get("/healthz").status_code == 200  # alive, just not ready
        finally:
            outage.restore()
        assert http.get("/readyz").status_code == 200


def test_readyz_names_an_unreachable_redis(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'scopegate.db'}"
    settings = settings_for(url, redis_url="redis://127.0.0.1:1/0")
    with TestClient(create_app(settings)) as http:
        started = time.monotonic()
        answer = http.get("/readyz")
        assert time.monotonic() - started < 2 * health.CHECK_TIMEOUT + 1
    assert answer.status_code == 503
    checks = answer.json()["checks"]
    assert checks["database"] == "ok" and checks["redis"] != "ok"


def test_readyz_with_redis_configured_and_up(tmp_path: Path, redis_url: str) -> None:
    settings = settings_for(f"sqlite:///{tmp_path / 'scopegate.db'}", redis_url=redis_url)
    with TestClient(create_app(settings)) as http:
        answer = http.get("/readyz")
    assert answer.status_code == 200
    assert answer.json()["checks"] == {"database": "ok", "redis": "ok"}

