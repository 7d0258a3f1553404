"""Fast JSON responses (orjson) and the OAuth error answer."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from starlette.background import BackgroundTask
from starlette.responses import Response

from ...errors import OAuthError

__all__ = ["NO_STORE", "JSONResponse", "error_response"]

NO_STORE: Mapping[str, str] = {"Cache-Control": "no-store", "Pragma": "no-cache"}

_CONTENT_TYPE = (b"content-type", b"application/json")
_OWN_HEADERS = frozenset({"content-type", "content-length"})


class JSONResponse(Response):
    """A JSON response rendered with orjson (several times faster than ``json``).

    Its headers are built directly (content type, length, then the given ones, names lower
    case) instead of through Starlette's general ``init_headers``: the token endpoint
    answers with one of these per request. Anything unusual (another media type, a
    background task, a caller-set content type or length) takes Starlette's path.
    """

    media_type = "application/json"

    def __init__(self, content: Any, status_code: int = 200,
                 headers: Mapping[str, str] | None = None, media_type: str | None = None,
                 background: BackgroundTask | None = None) -> None:
        if media_type is not None or background is not None or status_code in (204, 304) or (
                headers and not _OWN_HEADERS.isdisjoint(map(str.lower, headers))):
            super().__init__(content, status_code, headers, media_type, background)
            return
        self.status_code = status_code
        self.background = None
        self.body = body = orjson.dumps(content)
        raw = [_CONTENT_TYPE, (b"content-length", b"%d" % len(body))]
        if headers:
            raw += [(k.lower().encode("latin-1"), v.encode("latin-1"))
                    for k, v in headers.items()]
        self.raw_headers = raw

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def error_response(exc: OAuthError) -> JSONResponse:
    """The RFC 6749 §5.2 JSON answer for ``exc`` with its status and headers."""
    return JSONResponse(exc.body(), status_code=exc.status_code,
                        headers=exc.response_headers())
