"""Step: read an ``application/x-www-form-urlencoded`` body with a size limit.

Parsed here rather than with python-multipart: the token endpoint is hot and its bodies
are small; a split with a field limit, decoding only escaped parts, is enough and strict
about encoding.
"""

from __future__ import annotations

from urllib.parse import unquote_plus

from starlette.responses import Response

from ...errors import InvalidRequest, RequestTooLarge
from .context import Context

__all__ = ["FORM_CONTENT_TYPE", "MAX_FIELDS", "parse_form", "parse_urlencoded", "read_body"]

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
MAX_FIELDS = 64


async def read_body(ctx: Context) -> bytes:
    """Read the body, refusing more than ``max_body_bytes`` (413) before buffering it."""
    limit = ctx.server.settings.max_body_bytes
    declared = ctx.header("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise InvalidRequest("invalid Content-Length")
        if int(declared) > limit:
            raise RequestTooLarge()
    receive = ctx.receive
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            raise InvalidRequest("the client went away")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise RequestTooLarge()
        chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _check_content_type(value: str | None) -> None:
    if value == FORM_CONTENT_TYPE:  # what nearly every client sends: nothing to parse
        return
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
    _check_content_type(ctx.header("content-type"))
    body = await read_body(ctx)
    ctx.form = parse_urlencoded(body)
    return None


def parse_urlencoded(body: bytes) -> dict[str, list[str]]:
    """Parse a form body strictly: UTF-8, at most :data:`MAX_FIELDS` fields, no NUL."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidRequest("the form is not valid UTF-8") from None
    parts = [p for p in text.split("&") if p] if text else []
    if len(parts) > MAX_FIELDS:
        raise InvalidRequest(f"more than {MAX_FIELDS} form fields")
    form: dict[str, list[str]] = {}
    for part in parts:
        key, _, value = part.partition("=")
        try:
            # Most token requests carry no escapes: skip the decoder for them.
            if "%" in key or "+" in key:
                key = unquote_plus(key, errors="strict")
            if "%" in value or "+" in value:
                value = unquote_plus(value, errors="strict")
        except UnicodeDecodeError:
            raise InvalidRequest("the form is not valid UTF-8") from None
        if "\x00" in key or "\x00" in value:
            raise InvalidRequest("NUL characters are not allowed")
        form.setdefault(key, []).append(value)
    return form
