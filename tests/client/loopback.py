"""Real HTTP servers on 127.0.0.1 for the hostile-server tests: each runs in a thread.

``LoopbackServer`` answers each path with a function of the request it received; the
function returns an ``httpx.Response`` (written as is) or a :data:`Raw` writer that gets
the socket file and may hang, trickle, or stream without end. ``LoopbackIssuer`` is a
small authorization server and API on such a server (metadata, token endpoint minting
opaque tokens, an API that wants a Bearer token) that a test can make misbehave.
"""

from __future__ import annotations

import http.server
import itertools
import json
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, BinaryIO

import httpx

Raw = Callable[[BinaryIO], None]
Answer = httpx.Response | Raw


@dataclass(frozen=True)
class Seen:
    """One request as the server received it."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def form(self) -> dict[str, str]:
        return dict(urllib.parse.parse_qsl(self.body.decode()))


class LoopbackServer:
    """An HTTP server on an OS-chosen loopback port; ``routes`` maps a path to an answer."""

    def __init__(self) -> None:
        self.routes: dict[str, Callable[[Seen], Answer]] = {}
        self.seen: list[Seen] = []
        self.stop = threading.Event()
        self.connections = 0
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def setup(self) -> None:
                server.connections += 1
                super().setup()

            def do_GET(self) -> None:
                server._handle(self)

            do_POST = do_GET

            def log_message(self, format: str, *args: object) -> None:
                return

        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._httpd.block_on_close = False
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def __enter__(self) -> LoopbackServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self._httpd.shutdown()
        self._httpd.server_close()

    def paths(self) -> list[str]:
        return [seen.path for seen in self.seen]

    def _handle(self, handler: http.server.BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        seen = Seen(handler.command, handler.path, dict(handler.headers.items()), body)
        self.seen.append(seen)
        route = self.routes.get(urllib.parse.urlsplit(handler.path).path)
        answer: Answer = route(seen) if route else httpx.Response(404)
        try:
            if isinstance(answer, httpx.Response):
                _write_response(handler, answer)
            else:
                answer(handler.wfile)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client hung up, which is what several tests want
        handler.close_connection = True


def _write_response(handler: http.server.BaseHTTPRequestHandler, answer: httpx.Response) -> None:
    content = answer.read()
    handler.send_response(answer.status_code)
    for name, value in answer.headers.multi_items():
        if name.lower() not in ("content-length", "connection"):
            handler.send_header(name, value)
    handler.send_header("Content-Length", str(len(content)))
    handler.send_header("Connection", "close")
    handler.end_headers()
    handler.wfile.write(content)


def hang(server: LoopbackServer, seconds: float = 60.0) -> Raw:
    """Accept the request and never answer (until the test ends)."""

    def write(wfile: BinaryIO) -> None:
        server.stop.wait(seconds)

    return write


def trickle(server: LoopbackServer, body: bytes, every: float) -> Raw:
    """Send the headers at once, then the body one byte per ``every`` seconds."""

    def write(wfile: BinaryIO) -> None:
        head = (
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        )
        wfile.write(head.encode())
        wfile.flush()
        for byte in body:
            if server.stop.wait(every):
                return
            wfile.write(bytes([byte]))
            wfile.flush()

    return write


def endless_chunks(sent: list[int], total: int, chunk: int = 65_536) -> Raw:
    """A chunked 200 answer of ``total`` bytes; ``sent`` records what got onto the wire."""

    def write(wfile: BinaryIO) -> None:
        wfile.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        )
        piece = b"%x\r\n" % chunk + b" " * chunk + b"\r\n"
        sent.append(0)
        while sent[0] < total:
            wfile.write(piece)
            sent[0] += chunk
        wfile.write(b"0\r\n\r\n")

    return write


def raw_json(text: str, status: int = 200, headers: dict[str, str] | None = None) -> httpx.Response:
    """An answer whose JSON text is exactly ``text`` (for numbers json.dumps cannot write)."""
    all_headers = {"Content-Type": "application/json", **(headers or {})}
    return httpx.Response(status, content=text.encode(), headers=all_headers)


@dataclass
class LoopbackIssuer:
    """A tiny authorization server + API on one loopback server, easy to make misbehave."""

    server: LoopbackServer
    issuer_claim: str | None = None  # what the metadata calls its issuer (default: its URL)
    expires_in: Any = 3600
    iss_supported: bool = False  # RFC 9207 authorization_response_iss_parameter_supported
    api_challenges: list[str] = field(default_factory=list)  # 403 headers until a wide token
    issued: dict[str, set[str]] = field(default_factory=dict)
    _counter: itertools.count[int] = field(default_factory=itertools.count)

    def __post_init__(self) -> None:
        self.server.routes.update(
            {
                "/.well-known/oauth-authorization-server": self.metadata,
                "/oauth/token": self.token,
                "/api/things": self.api,
            }
        )

    @property
    def url(self) -> str:
        return self.server.url

    def metadata(self, seen: Seen) -> Answer:
        return httpx.Response(
            200,
            json={
                "issuer": self.issuer_claim or self.url,
                "token_endpoint": self.url + "/oauth/token",
                "authorization_endpoint": self.url + "/oauth/authorize",
                "revocation_endpoint": self.url + "/oauth/revoke",
                "authorization_response_iss_parameter_supported": self.iss_supported,
            },
        )

    def token(self, seen: Seen) -> Answer:
        form = seen.form
        scopes = set(form.get("scope", "api").split())
        access = f"opaque-{next(self._counter)}"
        self.issued[access] = scopes
        body = {
            "access_token": access,
            "token_type": "Bearer",
            "scope": " ".join(sorted(scopes)),
            "refresh_token": "refresh-" + access,
        }
        text = json.dumps(body)[:-1] + f', "expires_in": {_number(self.expires_in)}}}'
        return raw_json(text)

    def api(self, seen: Seen) -> Answer:
        token = seen.headers.get("Authorization", "").removeprefix("Bearer ")
        if token not in self.issued:
            return httpx.Response(401, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
        if self.api_challenges and "apps:write" not in self.issued[token]:
            headers = [("WWW-Authenticate", value) for value in self.api_challenges]
            return httpx.Response(403, headers=headers)
        return httpx.Response(200, json={"ok": True})


def _number(value: Any) -> str:
    """A str is raw JSON text (``'1e999'``, ``'"3600"'``); anything else is dumped."""
    return value if isinstance(value, str) else json.dumps(value)


def wait_for(predicate: Callable[[], bool], seconds: float = 5.0) -> bool:
    """Poll ``predicate`` until it holds or ``seconds`` pass."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def trickle_head(server: LoopbackServer, every: float) -> Raw:
    """Send the status line, then endless header bytes, one per ``every`` seconds."""

    def write(wfile: BinaryIO) -> None:
        wfile.write(b"HTTP/1.1 200 OK\r\nX-Slow: ")
        while not server.stop.wait(every):
            wfile.write(b"a")
            wfile.flush()

    return write
