"""A fake authorization server on a real loopback socket, served from a thread.

The user CLI talks to it with its own ``httpx.Client`` (or from a subprocess), so what
is tested is what goes over the wire. It issues opaque tokens, checks client
authentication on the token and revocation endpoints like a real server (RFC 6749
§2.3.1, RFC 7009 §2.1), answers introspection, and lets a test replace any endpoint's
answer with a hostile one.
"""

from __future__ import annotations

import base64
import json
import threading
import urllib.parse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

SERVICE_ID = "svc"
SERVICE_SECRET = "s3cret-value"
PUBLIC_ID = "cli-app"


@dataclass
class Answer:
    """A canned HTTP answer."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Received:
    """One request as the server saw it."""

    path: str
    form: dict[str, str]
    headers: dict[str, str]


Override = Callable[[Received], Answer]


class LoopbackIssuer:
    """Metadata, token, revocation and introspection endpoints on 127.0.0.1."""

    def __init__(self) -> None:
        self.allowed = {"api", "apps:read", "apps:write", "openid", "offline_access"}
        self.declined: set[str] = set()
        self.active: dict[str, set[str]] = {}  # token -> scopes, until revoked
        self.dead_refresh: set[str] = set()
        self.received: list[Received] = []
        self.overrides: dict[str, Override] = {}
        self._counter = 0
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    # -- endpoints ---------------------------------------------------------------------

    def _metadata(self, _: Received) -> Answer:
        return Answer(200, {
            "issuer": self.url,
            "token_endpoint": self.url + "/oauth/token",
            "authorization_endpoint": self.url + "/oauth/authorize",
            "device_authorization_endpoint": self.url + "/oauth/device_authorization",
            "revocation_endpoint": self.url + "/oauth/revoke",
            "introspection_endpoint": self.url + "/oauth/introspect",
        })

    def _client(self, request: Received) -> str | None:
        """The authenticated client id, or None (a public client only names itself)."""
        auth = request.headers.get("authorization", "")
        if auth.startswith("Basic "):
            user, _, password = base64.b64decode(auth[6:]).decode().partition(":")
            user, password = urllib.parse.unquote(user), urllib.parse.unquote(password)
            return user if (user, password) == (SERVICE_ID, SERVICE_SECRET) else None
        named = request.form.get("client_id")
        return named if named == PUBLIC_ID else None

    def _token(self, request: Received) -> Answer:
        client = self._client(request)
        if client is None:
            return Answer(401, {"error": "invalid_client"}, {"WWW-Authenticate": "Basic"})
        grant = request.form.get("grant_type")
        if grant == "refresh_token":
            refresh = request.form.get("refresh_token", "")
            if refresh in self.dead_refresh or refresh not in self.active:
                return Answer(400, {"error": "invalid_grant",
                                    "error_description": "refresh token expired"})
            return Answer(200, self.mint(self.active[refresh]))
        if grant != "client_credentials" or client != SERVICE_ID:
            return Answer(400, {"error": "unsupported_grant_type"})
        return Answer(200, self.mint(set(request.form.get("scope", "").split())))

    def mint(self, asked: set[str]) -> dict[str, Any]:
        """Issue an opaque access token (and refresh token) for the allowed part of ``asked``."""
        granted = (asked & self.allowed) - self.declined
        with self._lock:
            self._counter += 1
            access, refresh = f"at-{self._counter}", f"rt-{self._counter}"
        self.active[access] = self.active[refresh] = granted
        return {"access_token": access, "token_type": "Bearer", "expires_in": 3600,
                "refresh_token": refresh, "scope": " ".join(sorted(granted))}

    def _revoke(self, request: Received) -> Answer:
        if self._client(request) is None:
            return Answer(401, {"error": "invalid_client",
                                "error_description": "client authentication failed"},
                          {"WWW-Authenticate": "Basic"})
        self.active.pop(request.form.get("token", ""), None)
        return Answer(200)

    def _introspect(self, request: Received) -> Answer:
        scopes = self.active.get(request.form.get("token", ""))
        if scopes is None:
            return Answer(200, {"active": False})
        return Answer(200, {"active": True, "scope": " ".join(sorted(scopes))})

    def answer(self, request: Received) -> Answer:
        """Route one request (a test's override wins)."""
        self.received.append(request)
        routes: dict[str, Override] = {
            "/.well-known/oauth-authorization-server": self._metadata,
            "/oauth/token": self._token,
            "/oauth/revoke": self._revoke,
            "/oauth/introspect": self._introspect,
        }
        route = self.overrides.get(request.path) or routes.get(request.path)
        return route(request) if route else Answer(404, {"error": "not_found"})

    def paths(self) -> list[str]:
        """The paths requested so far, in order."""
        return [r.path for r in self.received]

    # -- plumbing ----------------------------------------------------------------------

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length).decode() if length else ""
                path = urllib.parse.urlsplit(self.path).path
                request = Received(path, dict(urllib.parse.parse_qsl(raw)),
                                   {k.lower(): v for k, v in self.headers.items()})
                answer = issuer.answer(request)
                body = answer.body if isinstance(answer.body, bytes) else (
                    b"" if answer.body is None else json.dumps(answer.body).encode())
                self.send_response(answer.status)
                headers = {"Content-Type": "application/json", **answer.headers}
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _serve

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler

    @contextmanager
    def running(self) -> Iterator[LoopbackIssuer]:
        """Serve until the block ends."""
        thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._server.shutdown()
            self._server.server_close()
            thread.join(5)


def write_config(directory: Path, issuer: LoopbackIssuer) -> Path:
    """``svc``: client credentials (secret in creds.json); ``prod``: the public client."""
    directory.mkdir(parents=True, exist_ok=True)
    envs = {
        "svc": {"issuer": issuer.url, "credentials": "creds.json"},
        "prod": {"issuer": issuer.url, "client_id": PUBLIC_ID},
    }
    (directory / "environments.json").write_text(json.dumps({"environments": envs}))
    creds = directory / "creds.json"
    creds.write_text(json.dumps({"clientId": SERVICE_ID, "clientSecret": SERVICE_SECRET}))
    creds.chmod(0o600)
    return directory
