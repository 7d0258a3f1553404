"""A third-party client registers itself at the real server (RFC 7591) and uses what it
got with Authlib: its metadata checked by Authlib's RFC 7591 claims against our
discovery document, then client credentials and authorization code + PKCE."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from authlib.integrations.httpx_client import OAuth2Client
from authlib.oauth2.rfc7591.claims import ClientMetadataClaims
from interactive_server import running_server
from typer.testing import CliRunner

from scopegate.cli.main import app as cli

EMAIL = "grace@example.org"
PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    db_url = f"sqlite:///{tmp_path_factory.mktemp('dcr') / 'scopegate.db'}"
    made = CliRunner().invoke(cli, ["clients", "initial-token", "--json"])
    assert made.exit_code == 0, made.stderr
    initial = json.loads(made.stdout)
    user = CliRunner().invoke(cli, ["users", "create", "--email", EMAIL, "--password-stdin",
                                    "--database-url", db_url], input=PASSWORD + "\n")
    assert user.exit_code == 0, user.stderr
    with running_server(db_url, registration_initial_tokens=initial["sha256"]) as issuer:
        meta = httpx.get(issuer + "/.well-known/oauth-authorization-server").json()
        yield {"issuer": issuer, "meta": meta, "initial": initial["initial_access_token"]}


def _register(server: dict[str, Any], body: dict[str, Any], token: str | None = None
              ) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    answer = httpx.post(server["meta"]["registration_endpoint"], json=body, headers=headers)
    assert answer.status_code == 201, answer.text
    registered: dict[str, Any] = answer.json()
    claims = ClientMetadataClaims(registered, {}, ClientMetadataClaims.get_claims_options(
        server["meta"]))
    claims.validate()  # Authlib's RFC 7591 rules, held to what our metadata advertises
    return registered


def test_a_machine_client_registers_with_an_initial_token_and_gets_a_token(
        server: dict[str, Any]) -> None:
    client = _register(server, {"client_name": "Authlib bot", "scope": "api",
                                "grant_types": ["client_credentials"],
                                "token_endpoint_auth_method": "client_secret_post"},
                       token=server["initial"])
    oauth = OAuth2Client(client["client_id"], client["client_secret"],
                         token_endpoint_auth_method=client["token_endpoint_auth_method"])
    token = oauth.fetch_token(server["meta"]["token_endpoint"],
                              grant_type="client_credentials", scope="api")
    assert token["token_type"] == "Bearer"


def _sign_in_and_consent(server: dict[str, Any], url: str) -> str:
    """What a browser does: sign in, press Allow; returns the callback URL."""
    with httpx.Client(base_url=server["issuer"]) as browser:
        first = browser.get(url)
        login = browser.get(first.headers["location"])
        csrf = login.text.split('name="csrf" value="')[1].split('"')[0]
        next_path = parse_qs(urlsplit(first.headers["location"]).query)["next"][0]
        back = browser.post("/login", data={"csrf": csrf, "email": EMAIL,
                                            "password": PASSWORD, "next": next_path})
        consent = browser.get(back.headers["location"])
        fields = {name: consent.text.split(f'name="{name}" value="')[1].split('"')[0]
                  for name in ("csrf", "request")}
        done = browser.post("/oauth/authorize/decision", data={**fields, "decision": "approve"})
        return str(done.headers["location"]).replace("&amp;", "&")


def test_a_public_client_registers_anonymously_and_runs_pkce(server: dict[str, Any]) -> None:
    redirect = "http://127.0.0.1:8765/callback"
    client = _register(server, {"client_name": "Authlib app", "redirect_uris": [redirect],
                                "grant_types": ["authorization_code", "refresh_token"]})
    assert client["token_endpoint_auth_method"] == "none"
    oauth = OAuth2Client(client["client_id"], redirect_uri=redirect, scope="api",
                         code_challenge_method="S256", token_endpoint_auth_method="none")
    verifier = secrets.token_urlsafe(48)
    url, state = oauth.create_authorization_url(server["meta"]["authorization_endpoint"],
                                                code_verifier=verifier)
    callback = _sign_in_and_consent(server, url)
    token = oauth.fetch_token(server["meta"]["token_endpoint"], authorization_response=callback,
                              code_verifier=verifier, state=state)
    assert token["token_type"] == "Bearer" and token["scope"] == "api"
