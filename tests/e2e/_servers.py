"""The real stack for the client end-to-end tests, and a person's hands in Chromium.

``build_stack`` sets up a temporary SQLite database with the admin CLI (users and clients
exactly as an operator would create them), then starts ``scopegate serve`` and the
example API as child processes on free loopback ports (the same launcher as
``scopegate demo``). ``Browser`` logs a user in and presses Allow on the real pages.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from typer.testing import CliRunner

from scopegate.cli._local_stack import LocalService, start_auth_server, start_example_api
from scopegate.cli.main import app as cli

API_AUDIENCE = "https://api.scopegate.example"
SCOPEGATE = str(Path(sys.executable).with_name("scopegate"))
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
PUBLIC_CLIENT_SCOPES = ["openid", "profile", "email", "offline_access", "api", "apps:read",
                        "apps:run"]
SERVICE_CLIENT_SCOPES = ["api", "apps:read", "apps:run", "workspace:read"]
READ_PATH = "/workspaces/demo/apps"
RUN_PATH = "/workspaces/demo/apps/hello/run"


@dataclass(frozen=True)
class User:
    """A person who logs in on the server's pages."""

    email: str
    password: str
    id: str


@dataclass
class Stack:
    """The running server and API, and what the admin CLI registered on them."""

    issuer: str
    api_url: str
    public_client_id: str
    service_client_id: str
    service_client_secret: str
    users: dict[str, User]
    metadata: dict[str, Any] = field(default_factory=dict)
    database_url: str = ""


def _admin(db_url: str, *args: str, stdin: str | None = None) -> dict[str, Any]:
    result = CliRunner().invoke(cli, [*args, "--database-url", db_url, "--json"], input=stdin)
    assert result.exit_code == 0, result.output
    loaded: dict[str, Any] = json.loads(result.stdout)
    return loaded


def _scope_args(scopes: list[str]) -> list[str]:
    return [arg for scope in scopes for arg in ("--scope", scope)]


@contextmanager
def build_stack(workdir: Path, user_names: list[str]) -> Iterator[Stack]:
    """Register users and clients with the admin CLI, then run the server and the API."""
    import httpx

    db_url = f"sqlite:///{workdir / 'scopegate.db'}"
    users = {}
    for name in user_names:
        password = f"{name} correct horse battery"
        made = _admin(db_url, "users", "create", "--email", f"{name}@example.org",
                      "--password-stdin", "--name", name.title(), stdin=password + "\n")
        users[name] = User(made["email"], password, made["id"])
    public = _admin(db_url, "clients", "create", "--name", "scopegate CLI", "--public",
                    "--grant", "authorization_code", "--grant", "refresh_token",
                    "--grant", "urn:ietf:params:oauth:grant-type:device_code",
                    "--redirect-uri", "http://127.0.0.1/callback",
                    *_scope_args(PUBLIC_CLIENT_SCOPES))
    service = _admin(db_url, "clients", "create", "--name", "nightly report",
                     *_scope_args(SERVICE_CLIENT_SCOPES))
    services: list[LocalService] = []
    try:
        # A 1 s device polling interval keeps the device-flow test short.
        auth = start_auth_server(db_url, workdir, extra_env={"SCOPEGATE_DEVICE_INTERVAL": "1"})
        services.append(auth)
        # The route that needs a recent sign-in wants one from the last second (RFC 9470).
        services.append(start_example_api(auth.url, workdir, extra_env={
            "SCOPEGATE_EXAMPLE_RECENT_SIGN_IN": "1"}))
        stack = Stack(auth.url, services[1].url, public["client_id"], service["client_id"],
                      service["client_secret"], users, database_url=db_url)
        stack.metadata = httpx.get(auth.url + "/.well-known/openid-configuration").json()
        yield stack
    finally:
        for running in reversed(services):
            running.stop()


def write_config(directory: Path, stack: Stack) -> Path:
    """Write the environments and credentials files the SDK and user CLI read.

    ``local``: interactive login with the public client. ``svc``: client credentials
    whose scopes come from the credentials file; ``svc-readonly``: the environment entry
    says ``api apps:read``; ``svc-bare``: credentials without scopes (the defaults).
    """
    directory.mkdir(parents=True, exist_ok=True)
    base = {"issuer": stack.issuer, "api_base_url": stack.api_url}
    environments = {
        "local": {**base, "client_id": stack.public_client_id},
        "svc": {**base, "credentials": "credentials.json"},
        "svc-readonly": {**base, "credentials": "credentials.json",
                         "scopes": ["api", "apps:read"]},
        "svc-bare": {**base, "credentials": "bare.json"},
    }
    (directory / "environments.json").write_text(json.dumps({"environments": environments}))
    secret = {"clientId": stack.service_client_id, "clientSecret": stack.service_client_secret}
    (directory / "credentials.json").write_text(
        json.dumps({**secret, "scopes": ["api", "workspace:read"]}))
    (directory / "bare.json").write_text(json.dumps(secret))
    for name in ("credentials.json", "bare.json"):
        (directory / name).chmod(0o600)  # secrets: anything wider draws a warning
    return directory


def cli_env(config: Path, **extra: str) -> dict[str, str]:
    """The environment of a user-CLI subprocess: this config dir, no OS keyring, no CI."""
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    return {**env, "SCOPEGATE_CONFIG_DIR": str(config), "SCOPEGATE_NO_KEYRING": "1",
            "COLUMNS": "250", "NO_COLOR": "1", **extra}


class Browser:
    """Does in Chromium what a person does: sign in if asked, read the consent, press Allow.

    Used as the PKCE provider's ``opener``; records every authorize URL and consent list.
    """

    def __init__(self, page: Any, issuer: str, user: User, database_url: str = "") -> None:
        self.page = page
        self.issuer = issuer
        self.user = user
        self.database_url = database_url
        self.opened: list[str] = []
        self.consents: list[list[str]] = []
        self.logins = 0

    def requested_scopes(self, index: int = -1) -> set[str]:
        """Return the ``scope`` parameter of an authorize URL this browser opened (of the
        request the SDK pushed, when the URL carries only its ``request_uri``)."""
        return set(self.authorize_params(index)["scope"].split())

    def authorize_params(self, index: int = -1) -> dict[str, str]:
        """The parameters of an authorization request this browser opened (RFC 9126:
        read from the server's database when the SDK pushed them)."""
        query = {k: v[0] for k, v in parse_qs(urlsplit(self.opened[index]).query).items()}
        if "request_uri" not in query:
            return query
        import hashlib

        import sqlalchemy as sa

        digest = hashlib.sha256(query["request_uri"].encode()).hexdigest()
        engine = sa.create_engine(self.database_url)
        try:
            with engine.connect() as conn:
                raw = conn.execute(sa.text("SELECT params FROM pushed_authorization_requests "
                                           "WHERE request_hash = :h"), {"h": digest}).scalar()
        finally:
            engine.dispose()
        pushed: dict[str, str] = json.loads(raw)
        return pushed

    def sign_in_if_asked(self) -> None:
        """Fill the login form when the server shows it."""
        if self.page.url.startswith(self.issuer + "/login"):
            self.page.get_by_label("Email").fill(self.user.email)
            self.page.get_by_label("Password").fill(self.user.password)
            self.page.get_by_role("button", name="Sign in").click()
            self.page.wait_for_load_state()
            self.logins += 1

    def __call__(self, url: str) -> bool:
        """Open the authorize URL and go through login and consent to the loopback redirect."""
        self.opened.append(url)
        self.page.goto(url)
        self.sign_in_if_asked()
        if self.page.url.startswith(self.issuer + "/oauth/authorize"):
            self.consents.append(self.page.locator("ul.scopes li").all_inner_texts())
            self.page.get_by_role("button", name="Allow").click()
        self.page.wait_for_url(lambda u: u.startswith("http://127.0.0.1:")
                               and urlsplit(u).path == "/callback")
        return True

    def approve_device(self, verification_uri_complete: str, user_code: str) -> list[str]:
        """Approve a device login on the verification page; return the scopes it listed."""
        self.page.goto(verification_uri_complete)
        self.sign_in_if_asked()
        assert self.page.get_by_label("Code").input_value() == user_code
        self.page.get_by_role("button", name="Continue").click()
        assert self.page.locator("#user-code").inner_text() == user_code
        listed: list[str] = self.page.locator("ul.scopes li").all_inner_texts()
        self.page.get_by_role("button", name="Allow").click()
        assert self.page.locator("#message-title").inner_text() == "Device connected"
        return listed
