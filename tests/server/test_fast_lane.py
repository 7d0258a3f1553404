"""The token endpoint's fast lane, and the metrics every endpoint feeds."""

from __future__ import annotations

from collections.abc import Callable

from starlette.testclient import TestClient
from starlette.types import ASGIApp, Receive, Scope, Send

from scopegate.server.app import create_app
from scopegate.server.config.settings import Settings

ClientFactory = Callable[..., tuple[str, str]]
FORM = {"grant_type": "client_credentials"}


class SeenPaths:
    """A middleware that records every path it sees."""

    seen: list[str] = []

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            SeenPaths.seen.append(scope["path"])
        await self.app(scope, receive, send)


def test_middleware_still_sees_token_requests(settings: Settings,
                                              make_client: ClientFactory) -> None:
    app = create_app(settings)
    app.add_middleware(SeenPaths)
    SeenPaths.seen.clear()
    with TestClient(app) as http:
        r = http.post("/oauth/token", data=FORM, auth=make_client())
    assert r.status_code == 200 and r.json()["token_type"] == "Bearer"
    assert SeenPaths.seen == ["/oauth/token"]


def test_token_endpoint_works_under_a_root_path(settings: Settings,
                                                make_client: ClientFactory) -> None:
    with TestClient(create_app(settings), root_path="/auth") as http:
        r = http.post("/oauth/token", data=FORM, auth=make_client())
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"


def test_other_methods_still_get_json_405(http: TestClient) -> None:
    r = http.put("/oauth/token", data=FORM)
    assert r.status_code == 405 and r.json()["error"] == "method_not_allowed"
    # OPTIONS: the CORS preflight (Starlette lists a route's methods in set order)
    assert set(r.headers["allow"].split(", ")) == {"POST", "OPTIONS"}


def _sample(text: str, series: str) -> float:
    """The value of one series (name with labels) in a Prometheus text page, 0 if absent."""
    for line in text.splitlines():
        if line.startswith(series + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_metrics_count_responses_errors_and_handler_time(
        http: TestClient, make_client: ClientFactory) -> None:
    ok = 'scopegate_http_requests_total{endpoint="token",method="POST",status="2xx"}'
    refused = 'scopegate_http_requests_total{endpoint="token",method="POST",status="4xx"}'
    bad_client = 'scopegate_oauth_errors_total{endpoint="token",error="invalid_client"}'
    timed = 'scopegate_http_request_duration_seconds_count{endpoint="token",method="POST"}'
    before = http.get("/metrics").text
    client_id, _ = make_client()
    assert http.post("/oauth/token", data=FORM, auth=make_client()).status_code == 200
    assert http.post("/oauth/token", data=FORM, auth=(client_id, "wrong")).status_code == 401
    after = http.get("/metrics").text
    assert _sample(after, ok) == _sample(before, ok) + 1
    assert _sample(after, refused) == _sample(before, refused) + 1
    assert _sample(after, bad_client) == _sample(before, bad_client) + 1
    assert _sample(after, timed) == _sample(before, timed) + 2
    inf = 'scopegate_http_request_duration_seconds_bucket{endpoint="token",le="+Inf",method="POST"}'
    assert _sample(after, inf) == _sample(before, inf) + 2
