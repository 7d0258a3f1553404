"""Step: read an ``application/x-www-form-urlencoded`` body with a size limit.

Parsed here rather than with python-multipart: the token endpoint is hot and its bodies
are small; ``parse_qsl`` with a field limit is enough and strict about encoding.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from starlette.responses import Response

from ...errors import InvalidRequest, RequestTooLarge
from .context import Context

__all__ = ["FORM_CONTENT_TYPE", "MAX_FIELDS", "parse_form", "read_body"]

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
MAX_FIELDS = 64


async def read_body(ctx: Context) -> bytes:
    """Read the body, refusing more than ``max_body_bytes`` (413) before buffering it."""
    limit = ctx.server.settings.max_body_bytes
    declared = ctx.request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise InvalidRequest("invalid Content-Length")
        if int(declared) > limit:
            raise RequestTooLarge()
    chunks: list[bytes] = []
    size = 0
    async for chunk in ctx.request.stream():
        size += len(chunk)
        if size > limit:
            raise RequestTooLarge()
        chunks.append(chunk)
    return b"".join(chunks)


def _check_content_type(value: str | None) -> None:
    if value is None:
        raise InvalidRequest(f"Content-Type must be {FORM_CONTENT_TYPE}")
    media, _, rest = value.partition(";")
    if media.strip().lower() != FORM_CONTENT_TYPE:
        raise InvalidRequest(f"Content-Type must be {FORM_CONTENT_TYPE}")
    for param in rest.split(";"):
        key, _, val = param.partition("=")
        if key.strip().lower() == "charset" and val.strip().strip('"').lower() not in (
                "utf-8", "utf8"):
            raise InvalidRequest("the form must be UTF-8")


async def parse_form(ctx: Context) -> Response | None:
    """Fill ``ctx.form`` from a form-encoded body (400 for another content type)."""
    _check_content_type(ctx.request.headers.get("content-type"))
    body = await read_body(ctx)
    try:
        text = body.decode("utf-8")
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=False,
                          max_num_fields=MAX_FIELDS, errors="strict")
    except UnicodeDecodeError:
        raise InvalidRequest("the form is not valid UTF-8") from None
    except ValueError:
        raise InvalidRequest(f"more than {MAX_FIELDS} form fields") from None
    form: dict[str, list[str]] = {}
    for key, value in pairs:
        if "\x00" in key or "\x00" in value:
            raise InvalidRequest("NUL characters are not allowed")
        form.setdefault(key, []).append(value)
    ctx.form = form
    return None
