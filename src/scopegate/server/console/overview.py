"""``/admin``: everyday administration through the one admin layer (``server/admin``).

Clients (create, rotate the secret, delete), resources and their audience mode, API keys
per user (revoke), users and their sessions (end them). Each action is a CSRF-checked
form; each change is an audit event (``scopegate.audit``) and reaches every replica as the
CLI's do. A new secret is shown once, on the page that made it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ...store.models.base import utcnow
from ...store.repositories.usage import AudienceModes
from ..admin import clients, keys, sessions, users
from ..admin.audience import known_resources
from ..admin.audit import audit
from ..admin.client_spec import client_spec
from ..admin.errors import AdminError
from ..admin.resources import add_resource, catalog_resources, resource_spec
from ..state import ServerState
from .access import Operator, operator_form, operator_page
from .docs import console_get, console_post

__all__ = ["PATH", "routes"]

PATH = "/admin"

Action = Callable[[ServerState, str, dict[str, str]], tuple[str, str | None]]


def _view(state: ServerState) -> dict[str, Any]:
    everyone = users.list_users(state.db)
    return {
        "clients": clients.list_clients(state.db),
        "resources": known_resources(state.db, catalog_resources(state.catalog,
                                                                 state.settings)),
        "modes": AudienceModes(state.db).all(),
        "users": [(u, sessions.list_sessions(state.db, u)) for u in everyone],
        "keys": [(k, k.status(utcnow())) for k in keys.list_keys(state.api_keys)],
        "emails": {u.id: u.email for u in everyone},
    }


def _render(state: ServerState, operator: Operator, *, status: int = 200,
            **context: Any) -> Response:
    return operator.render("admin/overview.html", PATH, status=status, **_view(state),
                           **context)


@operator_page
async def overview_page(request: Request, operator: Operator) -> Response:
    return await run_in_threadpool(_render, request.app.state.server, operator)


def _create_client(state: ServerState, actor: str, form: dict[str, str]) -> tuple[str, str | None]:
    spec = client_spec(state.catalog, name=form.get("name", ""),
                       scopes=form.get("scopes", "").split() or None)
    record, secret = clients.register_client(state.db, state.pepper, spec)
    audit("client.created", actor, client_id=record.client_id)
    return f"Client {record.client_id} created (secret below, shown once).", \
        f"{record.client_id}:{secret}"


def _rotate_client(state: ServerState, actor: str, form: dict[str, str]) -> tuple[str, str | None]:
    client_id = form.get("client_id", "")
    secret = clients.rotate_client_secret(state.db, state.pepper, client_id)
    audit("client.secret_rotated", actor, client_id=client_id)
    return f"New secret for {client_id} (shown once; the old one no longer works).", secret


def _delete_client(state: ServerState, actor: str, form: dict[str, str]) -> tuple[str, str | None]:
    client_id = form.get("client_id", "")
    clients.delete_client(state.db, client_id)
    audit("client.deleted", actor, client_id=client_id)
    return f"Client {client_id} deleted; its tokens are refused everywhere.", None


def _add_resource(state: ServerState, actor: str, form: dict[str, str]) -> tuple[str, str | None]:
    spec = resource_spec(state.catalog, identifier=form.get("identifier", ""),
                         scopes=form.get("scopes", "").split(), name=form.get("name") or None)
    added = add_resource(state.db, spec, catalog_resources(state.catalog, state.settings))
    audit("resource.added", actor, resource=added.identifier)
    return f"Resource {added.identifier} registered.", None


def _revoke_key(state: ServerState, actor: str, form: dict[str, str]) -> tuple[str, str | None]:
    key_id = form.get("key_id", "")
    keys.revoke_key(state.api_keys, key_id)
    audit("api_key.revoked", actor, key_id=key_id)
    return f"API key {key_id} revoked.", None


def _end_sessions(state: ServerState, actor: str, form: dict[str, str]) -> tuple[str, str | None]:
    user = users.find_user(state.db, form.get("email", ""))
    ended = sessions.end_sessions(state.db, user, form.get("session_id") or None)
    audit("sessions.ended", actor, user_id=user.id, count=ended)
    return f"Ended {ended} session(s) of {user.email}.", None


ACTIONS: dict[str, Action] = {
    "create-client": _create_client, "rotate-client": _rotate_client,
    "delete-client": _delete_client, "add-resource": _add_resource,
    "revoke-key": _revoke_key, "end-sessions": _end_sessions,
}


def _act(name: str) -> Any:
    action = ACTIONS[name]

    @operator_form
    async def endpoint(request: Request, operator: Operator, form: dict[str, str]) -> Response:
        state = request.app.state.server
        try:
            notice, secret = await run_in_threadpool(action, state, operator.user.id, form)
        except AdminError as exc:
            return await run_in_threadpool(_render, state, operator, status=400,
                                           error=str(exc))
        return await run_in_threadpool(_render, state, operator, notice=notice,
                                       secret=secret)

    endpoint.__name__ = f"console_{name.replace('-', '_')}"
    return endpoint


routes: list[BaseRoute] = [
    Route(PATH, overview_page, methods=["GET"], name="console"),
    *(Route(f"{PATH}/{name}", _act(name), methods=["POST"],
            name=f"console_{name.replace('-', '_')}") for name in ACTIONS),
]

_FIELDS = {"create-client": ("name", "scopes"), "rotate-client": ("client_id",),
           "delete-client": ("client_id",), "add-resource": ("identifier", "scopes", "name"),
           "revoke-key": ("key_id",),
           "end-sessions": ("email", "session_id")}
openapi_paths: dict[str, Any] = {
    PATH: console_get("The console's overview", "console"),
    **{f"{PATH}/{name}": console_post(name.replace("-", " ").capitalize(),
                                      f"console_{name.replace('-', '_')}", _FIELDS[name])
       for name in ACTIONS},
}
