"""Read a management API request's JSON body into a Pydantic model, with a clear error."""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel, ValidationError

from ...errors import InvalidRequest
from ..shared import Context, read_body

__all__ = ["json_body"]

_Body = TypeVar("_Body", bound=BaseModel)


async def json_body(ctx: Context, model: type[_Body], *, required: bool) -> _Body:
    body = await read_body(ctx)  # 413 past max_body_bytes, before buffering it all
    if not body.strip():
        if required:
            raise InvalidRequest("a JSON body is required")
        return model()
    media = ctx.request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if media != "application/json":
        raise InvalidRequest("Content-Type must be application/json")
    try:
        return model.model_validate_json(body)
    except ValidationError as exc:
        raise InvalidRequest(_describe(exc)) from None


def _describe(exc: ValidationError) -> str:
    problems = []
    for error in exc.errors(include_url=False)[:3]:
        if error["type"] == "json_invalid":
            return "the body is not valid JSON"
        where = ".".join(str(part) for part in error["loc"]) or "body"
        problems.append(f"{where}: {error['msg']}")
    return "; ".join(problems)
