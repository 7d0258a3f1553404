"""Small ASGI helpers shared by the Starlette and FastAPI adapters."""

from __future__ import annotations

import json
from typing import Any

from starlette.types import Scope, Send

from scopegate.errors import OAuthError

from ..config import GuardConfig
from ..context import GuardContext, RequestInfo
from ..dpop import parse_dpop, presentation
from ..errors import DuplicateAuthorization
from ..guard import Guard, parse_bearer
from ..health import PROBE_HEADERS, probe_answer
from ..protected_resource import METADATA_HEADERS, PREFLIGHT_HEADERS
from ..routes import list_routes

__all__ = ["CONTEXT_KEY", "METADATA_METHODS", "caller_of", "context_of", "read_request",
           "send_error", "send_metadata", "send_probe"]

#: What the RFC 9728 document answers; any other method goes on to the app (404/405).
METADATA_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

CONTEXT_KEY = "scopegate.context"


def read_request(scope: Scope, route: str, path_params: Any = None,
                 config: GuardConfig | None = None) -> tuple[RequestInfo, str | None]:
    """Pull method, path, client IP, User-Agent and the bearer (or DPoP, RFC 9449) token out
    of an ASGI scope; ``config`` gives the API's public URL (DPoP's ``htu``) and realm.

    :raises DuplicateAuthorization: the request carries two ``Authorization`` headers.
    :raises ResourceDPoPError: two ``DPoP`` headers, or an oversized one.
    """
    authorization = user_agent = None
    proofs: list[bytes] = []
    for name, value in scope["headers"]:
        if name == b"authorization":
            if authorization is not None:  # which one counts would be a guess
                raise DuplicateAuthorization()
            authorization = value.decode("latin-1")
        elif name == b"user-agent":
            user_agent = value.decode("latin-1")
        elif name == b"dpop":
            proofs.append(value)
    token, shown = parse_bearer(authorization), None
    if token is None and (dpop_token := parse_dpop(authorization)) is not None:
        token, shown = dpop_token, presentation(scope, "dpop", proofs, config)
    elif proofs:  # a proof beside a Bearer token: judged (and refused if bound) later
        shown = presentation(scope, "bearer", proofs, config)
    client = scope.get("client")
    info = RequestInfo(
        method=scope["method"],
        path=scope["path"],
        route=route,
        client_ip=client[0] if client else None,
        user_agent=user_agent,
        path_params=path_params if path_params is not None else scope.get("path_params", {}),
        dpop=shown,
    )
    return info, token


async def send_error(send: Send, exc: OAuthError) -> None:
    """Answer an OAuthError as JSON with its status and headers (WWW-Authenticate, …)."""
    body = json.dumps(exc.body()).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    headers += [(k.lower().encode("latin-1"), v.encode("latin-1"))
                for k, v in exc.response_headers().items()]
    await send({"type": "http.response.start", "status": exc.status_code, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def send_metadata(send: Send, scope: Scope, guard: Guard) -> None:
    """Answer the RFC 9728 document (GET, HEAD) or a browser's CORS preflight (OPTIONS)."""
    if scope["method"] == "OPTIONS":
        status, fields, body = 204, PREFLIGHT_HEADERS, b""
    else:
        status, fields = 200, METADATA_HEADERS
        body = guard.protected_resource.body(list_routes(scope["app"]))
    headers = [(k.lower().encode(), v.encode()) for k, v in fields.items()]
    headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body})


async def send_probe(send: Send, scope: Scope, guard: Guard) -> None:
    """Answer ``/healthz`` or ``/readyz`` (see :mod:`scopegate.guard.health`)."""
    status, body = await probe_answer(guard.readiness, guard.probe_paths, scope["path"])
    headers = [(k.lower().encode(), v.encode()) for k, v in PROBE_HEADERS.items()]
    headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body})


def context_of(request_or_scope: Any) -> GuardContext | None:
    """The guard context of a request (a Starlette ``Request`` or an ASGI scope), if any."""
    scope = getattr(request_or_scope, "scope", request_or_scope)
    found = scope.get(CONTEXT_KEY)
    return found if isinstance(found, GuardContext) else None


def caller_of(request_or_scope: Any) -> Any:
    """The caller the guard mounted for this request (raises LookupError if unguarded)."""
    ctx = context_of(request_or_scope)
    if ctx is None or ctx.caller is None:
        raise LookupError("this request was not authorized by the scopegate guard")
    return ctx.caller
