"""Step: mark the answer uncacheable (RFC 6749 §5.1: token responses carry no-store)."""

from __future__ import annotations

from starlette.responses import Response

from .context import Context
from .responses import NO_STORE

__all__ = ["no_store"]


async def no_store(ctx: Context) -> Response | None:
    """Add ``Cache-Control: no-store`` and ``Pragma: no-cache``."""
    ctx.headers.update(NO_STORE)
    return None
