"""The lean JSON response sends what Starlette's own would; Context works on raw ASGI."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from starlette.responses import Response

from scopegate.errors import InvalidClient, RateLimited
from scopegate.server.shared import Context
from scopegate.server.shared.responses import NO_STORE, JSONResponse, error_response


@pytest.mark.parametrize("headers", [None, {}, dict(NO_STORE),
                                     {"WWW-Authenticate": 'Basic realm="x"', "X-Other": "1"},
                                     {"Content-Type": "application/problem+json"},
                                     {"content-length": "7"}])
@pytest.mark.parametrize("status", [200, 400, 401])
def test_same_headers_and_body_as_starlette(headers: dict[str, str] | None,
                                            status: int) -> None:
    body: dict[str, Any] = {"error": "invalid_request", "n": [1, 2], "é": "ü"}
    ours = JSONResponse(body, status_code=status, headers=headers)
    theirs = Response(orjson.dumps(body), status_code=status, headers=headers,
                      media_type="application/json")
    assert ours.body == theirs.body
    assert sorted(ours.raw_headers) == sorted(theirs.raw_headers)
    assert ours.status_code == status


def test_headers_added_later_reach_the_wire() -> None:
    response = error_response(InvalidClient("bad credentials"))
    response.headers.update(NO_STORE)
    names = [name for name, _ in response.raw_headers]
    assert b"cache-control" in names and b"www-authenticate" in names
    assert response.status_code == 401


def test_rate_limited_answer_keeps_its_retry_after() -> None:
    response = error_response(RateLimited(1500))
    assert dict(response.raw_headers)[b"retry-after"] == b"2"
    assert orjson.loads(response.body)["retry_after_ms"] == 1500


async def _receive() -> dict[str, Any]:
    return {"type": "http.request", "body": b"", "more_body": False}


def test_context_from_raw_asgi_makes_a_request_only_when_asked() -> None:
    scope = {"type": "http", "method": "POST", "path": "/oauth/token", "query_string": b"",
             "headers": [(b"content-type", b"a"), (b"content-type", b"b")]}
    ctx = Context(server=object(), scope=scope, receive=_receive)  # type: ignore[arg-type]
    assert ctx.header("content-type") == "a"  # the first of repeated headers wins
    assert ctx.header("authorization") is None
    assert ctx.request.url.path == "/oauth/token"
    assert ctx.request is ctx.request
    with pytest.raises(TypeError):
        Context(server=object())  # type: ignore[arg-type]
