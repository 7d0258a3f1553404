"""One structured line per request (``scopegate serve --access-log``).

Method, path, status, duration and client address; never the query string (a code, a
state or a token can travel there) nor any header (Authorization). Replaces uvicorn's
access line, a bare string with the query in it.
"""

from __future__ import annotations

import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .logs import address_of

__all__ = ["AccessLog"]

access_logger = logging.getLogger("scopegate.access")
MAX_PATH = 512


class AccessLog:
    """ASGI middleware around the whole app (the fast lanes included)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            access_logger.info("request", extra={
                "method": scope["method"], "path": scope["path"][:MAX_PATH],
                "status": status,
                "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                "client_address": address_of(scope)})
