"""``POST /api/v1/usage``: a resource's guard reports counts; anyone else is refused and
nothing is stored; the answer carries the mode an operator chose."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from starlette.testclient import TestClient

from scopegate.server.admin.audience import set_audience_mode
from scopegate.server.admin.errors import Invalid, NotFound
from scopegate.server.state import ServerState
from scopegate.store.models.base import utcnow
from scopegate.store.repositories.usage import UsageRepository

from .conftest import ClientFactory

API = "https://usage.api.example"
PATH = "/api/v1/usage"


def _count(**overrides: Any) -> dict[str, Any]:
    return {"client_id": "cli", "sdk": "acme-sdk", "sdk_version": "1.2.0", "audience": False,
            "scopes": ["apps:read"], "count": 3, **overrides}


def _missing(state: ServerState, resource: str = API) -> int:
    return sum(UsageRepository(state.db).missing_by_hour(
        resource, utcnow() - timedelta(days=1)).values())


def test_a_guard_reports_and_learns_the_mode_an_operator_chose(
        http: TestClient, state: ServerState, make_client: ClientFactory) -> None:
    guard = make_client(resource_servers=(API,))
    before = _missing(state)
    reply = http.post(PATH, auth=guard, json={"resource": API, "counts": [
        _count(), _count(sdk_version="2.0.0", audience=True)]})
    assert reply.status_code == 200, reply.text
    assert reply.json() == {"accepted": 2, "audience_mode": None}
    assert reply.headers["cache-control"] == "no-store"
    assert _missing(state) == before + 3
    set_audience_mode(state.db, API, "enforce", "usr_operator")
    assert http.post(PATH, auth=guard, json={"resource": API, "counts": []}
                     ).json()["audience_mode"] == "enforce"


@pytest.mark.parametrize(("body", "says"), [
    ({"resource": API, "counts": [_count(count=0)]}, "count"),
    ({"resource": API, "counts": [_count()] * 1001}, "counts"),
    ({"resource": API, "counts": [_count(token="eyJ...")]}, "token"),
    ({"resource": API, "counts": [_count(), _count()]}, "once"),
    ({"resource": API, "counts": [_count(sdk="a\nb")]}, "sdk"),
    ({"counts": []}, "resource"),
])
def test_a_malformed_report_is_refused_whole(
        http: TestClient, state: ServerState, make_client: ClientFactory,
        body: dict[str, Any], says: str) -> None:
    guard = make_client(resource_servers=(API,))
    before = _missing(state)
    reply = http.post(PATH, auth=guard, json=body)
    assert reply.status_code in (400, 413), reply.text
    if reply.status_code == 400:
        assert reply.json()["error"] == "invalid_request"
        assert says in reply.json()["error_description"]
    assert _missing(state) == before


def test_only_a_guard_of_the_resource_may_report_for_it(
        http: TestClient, state: ServerState, make_client: ClientFactory) -> None:
    other_guard = make_client(resource_servers=("https://other.api.example",))
    before = _missing(state)
    reply = http.post(PATH, auth=other_guard, json={"resource": API, "counts": [_count()]})
    assert reply.status_code == 400 and reply.json()["error"] == "unauthorized_client"
    assert http.post(PATH, json={"resource": API, "counts": []}).status_code == 401
    assert http.post(PATH, auth=(other_guard[0], "wrong"),
                     json={"resource": API, "counts": []}).status_code == 401
    assert _missing(state) == before


def test_the_mode_is_one_of_three_and_only_for_a_known_resource(state: ServerState) -> None:
    with pytest.raises(Invalid, match="off, warn, enforce"):
        set_audience_mode(state.db, API, "strict", None)
    with pytest.raises(NotFound, match="no resource"):
        set_audience_mode(state.db, "https://never.reported.example", "warn", None)
