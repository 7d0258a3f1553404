"""``/openapi.json`` documents every route the app mounts, with auth, bodies and errors."""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.routing import Route
from starlette.testclient import TestClient


def _operations(spec: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(method.upper(), path): op for path, item in spec["paths"].items()
            for method, op in item.items()}


def _mounted(app: Starlette) -> set[tuple[str, str]]:
    out = set()
    for route in app.routes:
        assert isinstance(route, Route), f"unexpected route kind {route!r}"
        # HEAD comes with GET; OPTIONS is the CORS preflight (server/shared/cors.py).
        out |= {(method, route.path) for method in route.methods or ()
                if method not in ("HEAD", "OPTIONS")}
    return out


def test_every_mounted_route_is_in_openapi(app: Starlette, http: TestClient) -> None:
    spec = http.get("/openapi.json").json()
    documented = set(_operations(spec))
    mounted = _mounted(app)
    assert len(mounted) >= 20
    assert mounted - documented == set()  # nothing served is undocumented
    assert documented - mounted == set()  # nothing documented is missing


def test_operations_name_their_security_bodies_and_errors(http: TestClient) -> None:
    spec = http.get("/openapi.json").json()
    schemes = spec["components"]["securitySchemes"]
    assert schemes["bearerAuth"] == {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                                     "description": schemes["bearerAuth"]["description"]}
    operations = _operations(spec)
    ids = [op["operationId"] for op in operations.values()]
    assert len(ids) == len(set(ids))
    for (method, path), op in operations.items():
        for requirement in op.get("security", []):
            assert set(requirement) <= set(schemes), (method, path)
        if path.startswith("/api/v1/keys") or path == "/userinfo":
            assert op["security"] == [{"bearerAuth": []}], (method, path)
            challenge = op["responses"]["401"]["headers"]["WWW-Authenticate"]
            assert challenge["schema"] == {"type": "string"}
        if method == "POST" and path not in ("/userinfo",):
            assert "requestBody" in op, (method, path)
        if method != "GET" or path in ("/oauth/authorize", "/userinfo", "/api/v1/keys"):
            assert any(code.startswith("4") for code in op["responses"]), (method, path)


def test_json_bodies_carry_the_pydantic_schema_and_forms_their_fields(
        http: TestClient) -> None:
    ops = _operations(http.get("/openapi.json").json())
    create = ops[("POST", "/api/v1/keys")]["requestBody"]["content"]["application/json"]
    assert {"scopes", "scope", "expires_in", "workspace"} <= set(create["schema"]["properties"])
    assert create["schema"]["additionalProperties"] is False
    login = ops[("POST", "/login")]["requestBody"]["content"]
    form = login["application/x-www-form-urlencoded"]["schema"]
    assert form["required"] == ["csrf", "email", "password"]
    error = ops[("POST", "/oauth/token")]["responses"]["400"]["content"]["application/json"]
    assert error["schema"]["required"] == ["error"]
    page_error = ops[("POST", "/login")]["responses"]["403"]["content"]
    assert set(page_error) == {"text/html"}
