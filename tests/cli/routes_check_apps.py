"""Apps for the ``scopegate routes check`` tests: one clean, two broken, one Flask."""

from __future__ import annotations

from flask import Flask
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from scopegate.guard import public, requires


@requires("apps:read")
async def read(request: Request) -> PlainTextResponse:
    return PlainTextResponse("ok")


@requires("apps:reed")
async def typo(request: Request) -> PlainTextResponse:
    return PlainTextResponse("ok")


@public
async def health(request: Request) -> PlainTextResponse:
    return PlainTextResponse("ok")


async def forgotten(request: Request) -> PlainTextResponse:
    return PlainTextResponse("secret")


good = Starlette(routes=[Route("/apps", read), Route("/health", health)])
undeclared = Starlette(routes=[Route("/apps", read), Route("/forgotten", forgotten)])
unknown_scope = Starlette(routes=[Route("/apps", typo)])

flask_app = Flask(__name__)


@flask_app.get("/apps")
@requires("apps:read")
def flask_read() -> str:
    return "ok"


@flask_app.get("/open")
def flask_forgotten() -> str:
    return "secret"
