"""Every endpoint and page is counted and timed under its route name, with few labels."""

from __future__ import annotations

import re

from starlette.testclient import TestClient

from .test_fast_lane import _sample

VISITS = [
    ("GET", "/oauth/authorize", "authorize"),
    ("GET", "/login", "login"),
    ("GET", "/device", "device_verification"),
    ("GET", "/userinfo", "userinfo"),
    ("GET", "/jwks.json", "jwks"),
    ("POST", "/oauth/register", "register"),
    ("POST", "/oauth/introspect", "introspect"),
    ("POST", "/oauth/revoke", "revoke"),
    ("POST", "/oauth/device_authorization", "device_authorization"),
    ("GET", "/healthz", "healthz"),
]


def _series(endpoint: str, method: str, status: str) -> str:
    return (f'scopegate_http_requests_total{{endpoint="{endpoint}",method="{method}",'
            f'status="{status}"}}')


def test_every_endpoint_and_page_is_counted_by_status_class_and_timed(
        http: TestClient) -> None:
    before = http.get("/metrics").text
    statuses = [http.request(method, path, follow_redirects=False).status_code
                for method, path, _ in VISITS]
    after = http.get("/metrics").text
    for (method, path, endpoint), status in zip(VISITS, statuses, strict=True):
        series = _series(endpoint, method, f"{status // 100}xx")
        assert _sample(after, series) == _sample(before, series) + 1, (path, series)
        timed = (f'scopegate_http_request_duration_seconds_count{{endpoint="{endpoint}",'
                 f'method="{method}"}}')
        assert _sample(after, timed) == _sample(before, timed) + 1, (path, timed)


def test_labels_stay_few_whatever_the_path(http: TestClient) -> None:
    for n in range(5):  # unknown paths and ids never become label values
        http.get(f"/no/such/path/{n}")
    text = http.get("/metrics").text
    labels = set(re.findall(r'(\w+)="', "\n".join(
        line for line in text.splitlines() if line.startswith("scopegate_http_"))))
    assert labels <= {"endpoint", "method", "status", "le"}
    assert "/no/such" not in text
