"""A small API protected by the scopegate guard (the README demo calls it with a real token).

Routes: list apps (``apps:read``), read one app (``apps:read``) and run one (``apps:run``),
each inside a workspace the caller must belong to; ``/health`` is public. Everything else
would be refused by the deny-by-default middleware.

Run it from the clone (it listens on http://127.0.0.1:8001)::

    SCOPEGATE_ISSUER=http://127.0.0.1:8000 .venv/bin/python -m examples.example_api
    # or: .venv/bin/uvicorn examples.example_api:app --port 8001 (no audit lines: uvicorn's
    # own log config leaves the scopegate loggers alone)

Started with ``python -m``, it logs the guard's lines to stderr: one ``scopegate.audit``
line per guarded call (who, which scopes, which workspace, the status) and the
``scopegate.guard`` warnings (a token refused, introspection failing).

Environment: ``SCOPEGATE_ISSUER``, ``SCOPEGATE_AUDIENCE`` (default the catalog's API
audience), ``SCOPEGATE_AUDIENCE_MODE`` (off/warn/enforce), ``SCOPEGATE_GUARD_CLIENT_ID`` and
``SCOPEGATE_GUARD_CLIENT_SECRET`` (for opaque tokens and API keys: a client registered as
this API's resource server, ``scopegate clients create --name example-api
--resource-server https://api.scopegate.example``, or introspection answers it nothing),
``SCOPEGATE_REDIS_URL``
(share the rate limit between replicas), ``SCOPEGATE_EXAMPLE_MEMBERS``
(``workspace=sub1,sub2;other=*``; default ``demo=*``: every signed-in caller is a member of
``demo``), ``SCOPEGATE_EXAMPLE_HOST`` / ``SCOPEGATE_EXAMPLE_PORT``,
``SCOPEGATE_EXAMPLE_DOWNSTREAM_URL`` and ``SCOPEGATE_EXAMPLE_DOWNSTREAM_RESOURCE`` (another
API, e.g. a second copy of this one, and its registered resource: ``/workspaces/{ws}/
delegated/apps`` lists the apps there with a token exchanged for the caller's, RFC 8693;
the guard's client needs ``--grant token-exchange``),
``SCOPEGATE_EXAMPLE_SWAGGER_CLIENT_ID`` (a public client whose redirect URI is
``<API URL>/docs/oauth2-redirect``: Swagger UI's Authorize button signs in with it, PKCE),
``SCOPEGATE_EXAMPLE_SWAGGER_UI_DIR`` (a directory holding ``swagger-ui-bundle.js`` and
``swagger-ui.css``: /docs loads them from the API, not from FastAPI's default CDN; when
unset, the files of the ``fastapi-offline`` package if it is installed, else the CDN).
"""

# No ``from __future__ import annotations``: FastAPI must evaluate the route annotations,
# which name dependencies built inside build_app().


import logging
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from importlib import resources
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import FileResponse, HTMLResponse
from pydantic import BaseModel, ConfigDict

from scopegate.guard import (
    AuthContext,
    BearerCheck,
    Caller,
    CallerMount,
    Guard,
    GuardConfig,
    GuardContext,
    Pipeline,
    ResourceAuthz,
    ResourceResolver,
    ScopeCheck,
    WorkspaceMembershipCheck,
    public,
)
from scopegate.guard.adapters.fastapi import RequireScopes, install
from scopegate.guard.adapters.starlette import GuardMiddleware, context_of
from scopegate.ratelimit import create_rate_limiter

__all__ = ["app", "build_app", "main"]

API_AUDIENCE = "https://api.scopegate.example"
#: Seconds a sign-in stays recent enough to empty an app's run history (RFC 9470).
RECENT_SIGN_IN_S = int(os.environ.get("SCOPEGATE_EXAMPLE_RECENT_SIGN_IN", "300"))


@dataclass(frozen=True)
class ExampleApp:
    """An app that lives in a workspace."""

    id: str
    workspace: str
    name: str
    runnable: bool = True


APPS = {
    "hello": ExampleApp("hello", "demo", "Hello world"),
    "report": ExampleApp("report", "demo", "Weekly report"),
    "frozen": ExampleApp("frozen", "demo", "Archived app", runnable=False),
    "secret": ExampleApp("secret", "other", "Another workspace's app"),
}


def parse_members(raw: str) -> dict[str, frozenset[str]]:
    """Read ``ws=a,b;other=*`` into a workspace -> members map."""
    out: dict[str, frozenset[str]] = {}
    for part in filter(None, (p.strip() for p in raw.split(";"))):
        workspace, _, names = part.partition("=")
        out[workspace.strip()] = frozenset(n.strip() for n in names.split(",") if n.strip())
    return out


class RunRequest(BaseModel):
    """What a run takes; a ``user`` field, if sent, is ignored: identity is the token's."""

    model_config = ConfigDict(extra="ignore")
    inputs: dict[str, str] = {}


def swagger_ui_dir(env: dict[str, str]) -> str | None:
    """Where Swagger UI's files are on disk, or None for FastAPI's default CDN."""
    configured = env.get("SCOPEGATE_EXAMPLE_SWAGGER_UI_DIR")
    if configured:
        return configured
    try:  # ships Swagger UI 5, which reads FastAPI's OpenAPI 3.1 documents
        return str(resources.files("fastapi_offline") / "static")
    except ModuleNotFoundError:
        return None


def serve_swagger_ui(api: FastAPI, directory: str) -> None:
    """Serve /docs with Swagger UI's JS and CSS from ``directory`` (FastAPI's documented
    self-hosting): an API behind a firewall, or a strict CSP, cannot load them from a CDN."""
    files = {"swagger-ui-bundle.js": "text/javascript", "swagger-ui.css": "text/css"}

    @api.get("/docs-static/{name}", include_in_schema=False)
    @public
    async def swagger_ui_file(name: str) -> FileResponse:
        if name not in files:  # two known files, never a path into the directory
            raise HTTPException(404, "Not Found")
        return FileResponse(os.path.join(directory, name), media_type=files[name])

    @api.get("/docs", include_in_schema=False)
    @public
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=str(api.openapi_url), title=f"{api.title} - Swagger UI",
            oauth2_redirect_url=api.swagger_ui_oauth2_redirect_url,
            init_oauth=api.swagger_ui_init_oauth,
            swagger_js_url="/docs-static/swagger-ui-bundle.js",
            swagger_css_url="/docs-static/swagger-ui.css", swagger_favicon_url="")

    @api.get("/docs/oauth2-redirect", include_in_schema=False)
    @public
    async def oauth2_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()


def build_app(guard: Guard, members: dict[str, frozenset[str]],
              swagger_client_id: str | None = None,
              swagger_ui_files: str | None = None,
              downstream: tuple[str, str] | None = None) -> FastAPI:
    """Assemble the example API around ``guard``.

    :param downstream: (resource identifier, base URL) of the API the delegated route calls.
    """

    def is_member(auth: AuthContext, workspace: str) -> bool:
        names = members.get(workspace, frozenset())
        return "*" in names or auth.subject in names

    def resolve(ctx: GuardContext) -> ExampleApp | None:
        found = APPS.get(str(ctx.request.path_params.get("app_id")))
        workspace = ctx.request.path_params.get("workspace")
        return found if found and found.workspace == workspace else None

    def may_run(ctx: GuardContext) -> bool:
        return isinstance(ctx.resource, ExampleApp) and ctx.resource.runnable

    auth = guard.authenticator
    per_app = Pipeline([
        BearerCheck(auth), ScopeCheck(guard.catalog, realm=guard.config.realm),
        ResourceResolver(resolve), WorkspaceMembershipCheck(is_member),
        ResourceAuthz(may_run), CallerMount(),
    ])
    in_workspace = per_app.without(ResourceResolver, ResourceAuthz)
    read_app = per_app.without(ResourceAuthz)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        await guard.aclose()

    api = FastAPI(title="scopegate example API", lifespan=lifespan,
                  docs_url=None if swagger_ui_files else "/docs")
    install(api, guard, swagger_client_id=swagger_client_id)
    if swagger_ui_files:
        serve_swagger_ui(api, swagger_ui_files)
    api.add_middleware(GuardMiddleware, guard=guard)

    @api.get("/health")
    @public
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @api.get("/workspaces/{workspace}/apps")
    async def list_apps(
        workspace: str,
        caller: Annotated[Caller, Depends(RequireScopes("apps:read", pipeline=in_workspace))],
    ) -> dict[str, object]:
        apps = [{"id": a.id, "name": a.name} for a in APPS.values() if a.workspace == workspace]
        return {"workspace": workspace, "caller": caller.subject, "actor": caller.actor,
                "apps": apps}

    @api.get("/workspaces/{workspace}/delegated/apps")
    async def delegated_apps(
        workspace: str, request: Request,
        caller: Annotated[Caller, Depends(RequireScopes("apps:read", pipeline=in_workspace))],
    ) -> dict[str, object]:
        """The same list, from the downstream API, called on the caller's behalf with a
        token exchanged for theirs (only ``apps:read``, the caller as ``sub``, this API as
        ``act``)."""
        if downstream is None:
            raise HTTPException(404, "no downstream API is configured")
        resource, base_url = downstream
        token = await guard.exchange(context_of(request), resource=resource,
                                     scopes=["apps:read"])
        answer = await guard.authenticator.http.get(
            f"{base_url}/workspaces/{workspace}/apps",
            headers={"Authorization": token.authorization})
        return {"via": resource, "status": answer.status_code, "answer": answer.json()}

    @api.get("/workspaces/{workspace}/apps/{app_id}")
    async def app_info(
        workspace: str, app_id: str,
        caller: Annotated[Caller, Depends(RequireScopes("apps:read", pipeline=read_app))],
    ) -> dict[str, object]:
        found = APPS[app_id]
        return {"id": found.id, "name": found.name, "workspace": found.workspace}

    @api.post("/workspaces/{workspace}/apps/{app_id}/run")
    async def run_app(
        workspace: str, app_id: str, body: RunRequest,
        caller: Annotated[Caller, Depends(RequireScopes("apps:run", pipeline=per_app))],
    ) -> dict[str, object]:
        return {"app": app_id, "ran_as": caller.subject, "caller_type": type(caller).__name__,
                "inputs": body.inputs}

    @api.delete("/workspaces/{workspace}/apps/{app_id}/runs")
    async def clear_runs(
        workspace: str, app_id: str,
        caller: Annotated[Caller, Depends(RequireScopes(
            "apps:run", pipeline=read_app, max_age=RECENT_SIGN_IN_S))],
    ) -> dict[str, object]:
        """Empty an app's run history: needs a recent sign-in (RFC 9470)."""
        return {"app": app_id, "cleared_by": caller.subject}

    return api


def _guard_from_env() -> Guard:
    env = {"SCOPEGATE_ISSUER": "http://127.0.0.1:8000", "SCOPEGATE_AUDIENCE": API_AUDIENCE,
           **os.environ}
    config = GuardConfig.from_env(env)  # a bad setting stops the app here, in one line
    limiter = create_rate_limiter(config.redis_url, prefix="scopegate:example:")
    return Guard(config, limiter=limiter)


def _downstream_from_env() -> tuple[str, str] | None:
    url = os.environ.get("SCOPEGATE_EXAMPLE_DOWNSTREAM_URL")
    resource = os.environ.get("SCOPEGATE_EXAMPLE_DOWNSTREAM_RESOURCE")
    return (resource, url.rstrip("/")) if url and resource else None


app = build_app(_guard_from_env(),
                parse_members(os.environ.get("SCOPEGATE_EXAMPLE_MEMBERS", "demo=*")),
                os.environ.get("SCOPEGATE_EXAMPLE_SWAGGER_CLIENT_ID") or None,
                swagger_ui_dir(dict(os.environ)), _downstream_from_env())


class _AuditFormatter(logging.Formatter):
    """A line per record; an audit record's fields follow as ``key=value``."""

    _FIELDS = ("subject", "client_id", "token_kind", "scopes", "workspace")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        if getattr(record, "audit", False):
            line += "".join(f" {name}={getattr(record, name, None)}" for name in self._FIELDS)
        return line


def configure_logging() -> None:
    """Show the guard's audit and security lines on stderr (nothing configures them else)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_AuditFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    log = logging.getLogger("scopegate")
    log.addHandler(handler)
    log.setLevel(logging.INFO)


def main() -> None:
    """Serve the example API with uvicorn, with the guard's log lines shown."""
    import uvicorn

    configure_logging()

    uvicorn.run(app, host=os.environ.get("SCOPEGATE_EXAMPLE_HOST", "127.0.0.1"),
                port=int(os.environ.get("SCOPEGATE_EXAMPLE_PORT", "8001")))


if __name__ == "__main__":
    main()
