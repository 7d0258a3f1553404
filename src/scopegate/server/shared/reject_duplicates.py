"""Step: refuse repeated parameters (RFC 6749 §3.1: parameters MUST NOT repeat)."""

from __future__ import annotations

from collections.abc import Iterable

from starlette.responses import Response

from ...errors import InvalidRequest
from .action import Step
from .context import Context

__all__ = ["REPEATABLE", "reject_duplicates"]

REPEATABLE = frozenset({"resource"})  # RFC 8707 §2 allows several resource parameters


def reject_duplicates(repeatable: Iterable[str] = REPEATABLE) -> Step:
    """Build a step that fills ``ctx.params`` and refuses any repeated parameter."""
    allowed = frozenset(repeatable)

    async def reject_duplicates(ctx: Context) -> Response | None:
        params: dict[str, str] = {}
        for key, values in ctx.form.items():
            if len(values) > 1 and key not in allowed:
                raise InvalidRequest(f"parameter {key!r} is repeated")
            params[key] = values[0]
        ctx.params = params
        return None

    return reject_duplicates
