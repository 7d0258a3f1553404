"""Read a page's POSTed form with the same limits as the OAuth endpoints."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.requests import Request

from ...errors import InvalidRequest
from ..shared import Context, parse_form

if TYPE_CHECKING:
    from ..state import ServerState

__all__ = ["read_form"]


async def read_form(request: Request, state: ServerState) -> dict[str, str]:
    """Return the single-valued fields of a form-encoded body.

    :raises InvalidRequest: wrong content type, too large, malformed or a repeated field.
    """
    ctx = Context(request=request, server=state)
    await parse_form(ctx)
    out: dict[str, str] = {}
    for key, values in ctx.form.items():
        if len(values) > 1:
            raise InvalidRequest(f"field {key!r} is repeated")
        out[key] = values[0]
    return out
