"""CORS seen from a real browser: a page served from a registered client's origin reads
the metadata and gets a token (the Authorization header forces a preflight); a page from
another origin reads only the public metadata; neither may read a page of the server."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from typer.testing import CliRunner

from scopegate.cli._local_stack import start_auth_server
from scopegate.cli.main import app as cli

CALLS = """async ([issuer, id, secret]) => {
  const out = {};
  try {
    const meta = await fetch(issuer + "/.well-known/oauth-authorization-server");
    out.metadata = (await meta.json()).token_endpoint;
  } catch (e) { out.metadata = "blocked"; }
  try {
    const answer = await fetch(issuer + "/oauth/token", {method: "POST",
      headers: {"Authorization": "Basic " + btoa(id + ":" + secret),
                "Content-Type": "application/x-www-form-urlencoded"},
      body: "grant_type=client_credentials&scope=api"});
    out.token = (await answer.json()).token_type;
  } catch (e) { out.token = "blocked"; }
  try { out.login = (await fetch(issuer + "/login")).status; }
  catch (e) { out.login = "blocked"; }
  return out;
}"""


class _Page(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"<!doctype html><title>spa</title><p>a browser app</p>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def spa_port() -> Iterator[int]:
    """A static page server on loopback (as ``localhost`` it is the registered origin)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    server = ThreadingHTTPServer(("127.0.0.1", port), _Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield port
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def issuer_and_client(tmp_path_factory: pytest.TempPathFactory,
                      spa_port: int) -> Iterator[tuple[str, str, str]]:
    workdir = tmp_path_factory.mktemp("cors")
    db_url = f"sqlite:///{workdir / 'scopegate.db'}"
    made = CliRunner().invoke(cli, [
        "clients", "create", "--name", "spa", "--grant", "client_credentials",
        "--grant", "authorization_code", "--redirect-uri",
        f"http://localhost:{spa_port}/callback", "--scope", "api",
        "--database-url", db_url, "--json"])
    assert made.exit_code == 0, made.output
    client = json.loads(made.stdout)
    server = start_auth_server(db_url, workdir)
    try:
        yield server.url, client["client_id"], client["client_secret"]
    finally:
        server.stop()


def _calls_from(new_page: Any, origin: str, issuer_and_client: tuple[str, str, str]) -> Any:
    page = new_page()
    page.goto(origin + "/")
    return page.evaluate(CALLS, list(issuer_and_client))


def test_the_registered_origin_gets_a_token(new_page: Any, spa_port: int,
                                            issuer_and_client: tuple[str, str, str]) -> None:
    seen = _calls_from(new_page, f"http://localhost:{spa_port}", issuer_and_client)
    assert seen == {"metadata": issuer_and_client[0] + "/oauth/token", "token": "Bearer",
                    "login": "blocked"}


def test_another_origin_reads_only_public_documents(
        new_page: Any, spa_port: int, issuer_and_client: tuple[str, str, str]) -> None:
    seen = _calls_from(new_page, f"http://127.0.0.1:{spa_port}", issuer_and_client)
    assert seen == {"metadata": issuer_and_client[0] + "/oauth/token", "token": "blocked",
                    "login": "blocked"}

