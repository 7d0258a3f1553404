"""The demo's delegated call (RFC 8693 token exchange): the example API calls a second
API, "reports", on its caller's behalf.

Set up as an operator would: ``reports`` is a registered resource offering ``apps:read``,
and the example API's guard gets a client of its own, registered as the API's resource
server with the ``token-exchange`` grant. A second copy of the example API serves
reports. The demo then calls the example API's delegated route; reports answers with the
caller it saw (the demo client, ``sub``) and who acted for it (the example API, ``act``).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import httpx
from rich.console import Console

from ..client import ClientCredentialsProvider, TokenSession, terminal_text
from ..scopes import load_catalog
from ..server.admin.client_spec import client_spec
from ..server.admin.clients import client_pepper, register_client
from ..server.admin.resources import add_resource, catalog_resources, resource_spec
from ..server.config.settings import Settings
from ..server.state import prepare_database
from ..store import Database
from ._local_stack import LocalService, start_example_api

__all__ = ["DELEGATED_PATH", "REPORTS", "delegated_call", "register_delegation",
           "start_reports"]

API_AUDIENCE = "https://api.scopegate.example"  # examples/example_api.py
REPORTS = "https://reports.scopegate.example"
DELEGATED_PATH = "/workspaces/demo/delegated/apps"


class DelegationFailed(Exception):
    """The delegated call did not show what it should have."""


def register_delegation(database_url: str) -> dict[str, str]:
    """Register reports and the example API's own client; return the API's guard settings."""
    settings = Settings.from_env(database_url=database_url)
    catalog = load_catalog(settings.catalog_path)
    spec = client_spec(catalog, name="example API (delegates to reports)",
                       grants=["token-exchange"], scopes=["api", "apps:read"],
                       resource_servers=[API_AUDIENCE])
    db = Database(settings.database_url)
    try:
        keks = prepare_database(db, settings)
        add_resource(db, resource_spec(catalog, identifier=REPORTS, scopes=["apps:read"],
                                       name="reports"), catalog_resources(catalog, settings))
        record, secret = register_client(db, client_pepper(db, keks), spec)
    finally:
        db.dispose()
    return {"SCOPEGATE_GUARD_CLIENT_ID": record.client_id,
            "SCOPEGATE_GUARD_CLIENT_SECRET": secret,
            "SCOPEGATE_EXAMPLE_DOWNSTREAM_RESOURCE": REPORTS}


def start_reports(issuer: str, workdir: Path, *, detach: bool) -> LocalService:
    """The reports API: the example API again, trusting tokens for ``REPORTS`` only."""
    reports_dir = workdir / "reports"
    reports_dir.mkdir(exist_ok=True)
    service = start_example_api(issuer, reports_dir, detach=detach,
                                extra_env={"SCOPEGATE_AUDIENCE": REPORTS})
    service.name = "reports API"
    return service


def delegated_call(console: Console, issuer: str, api_url: str, client_id: str,
                   secret: str, scopes: tuple[str, ...],
                   guard_env: Mapping[str, str]) -> None:
    """Call the delegated route and show what reports saw."""
    provider = ClientCredentialsProvider(issuer, client_id, secret, scopes=scopes)
    token = TokenSession(provider, interactive=False).get_token()
    answer = httpx.get(api_url + DELEGATED_PATH, timeout=10,
                       headers={"Authorization": f"Bearer {token.access_token}"})
    console.print(f"  → GET {DELEGATED_PATH}  ← {answer.status_code}", highlight=False)
    body = answer.json() if answer.status_code == 200 else {}
    seen = body.get("answer") or {}
    if body.get("status") != 200 or seen.get("caller") != client_id \
            or seen.get("actor") != guard_env["SCOPEGATE_GUARD_CLIENT_ID"]:
        raise DelegationFailed(f"delegated call: unexpected answer {answer.text[:300]}")
    console.print(f"  reports saw caller [bold]{terminal_text(seen['caller'])}[/] with "
                  f"act.sub [bold]{terminal_text(seen['actor'])}[/] (the example API), "
                  f"token for {REPORTS} with apps:read only", highlight=False, soft_wrap=True)
    console.print("  [green]✓[/] the example API exchanged the caller's token (RFC 8693) "
                  "instead of passing it on", highlight=False, soft_wrap=True)
