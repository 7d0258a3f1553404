"""Fast JSON responses (orjson) and the OAuth error answer."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from starlette.responses import Response

from ..errors import OAuthError

__all__ = ["NO_STORE", "JSONResponse", "error_response"]

NO_STORE: Mapping[str, str] = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class JSONResponse(Response):
    """A JSON response rendered with orjson (several times faster than ``json``)."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def error_response(exc: OAuthError) -> JSONResponse:
    """The RFC 6749 §5.2 JSON answer for ``exc`` with its status and headers."""
    return JSONResponse(exc.body(), status_code=exc.status_code,
                        headers=exc.response_headers())
