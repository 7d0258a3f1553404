"""A real scopegate server (uvicorn, own thread) and a loopback redirect listener."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import uvicorn

from scopegate.server.app import create_app
from scopegate.server.config.settings import Settings


def free_port() -> int:
    """A port nobody listens on right now, on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running_server(database_url: str, **overrides: Any) -> Iterator[str]:
    """Serve the real app with uvicorn on a free port; yield its issuer URL.

    :param overrides: further settings (e.g. ``registration_initial_tokens``).
    """
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    settings = Settings.from_env(env={}, database_url=database_url, issuer=issuer,
                                 host="127.0.0.1", port=port, **overrides)
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("scopegate did not start")
        time.sleep(0.05)
    try:
        yield issuer
    finally:
        server.should_exit = True
        thread.join(timeout=10)


class LoopbackListener:
    """What a CLI does for RFC 8252: listen on 127.0.0.1 and catch the redirect."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        listener = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                listener.requests.append(self.path)
                body = b"<!doctype html><title>Done</title><h1>Signed in</h1>"
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = HTTPServer(("127.0.0.1", 0), Handler)
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def redirect_uri(self) -> str:
        """The redirect URI with this listener's port (registered without one)."""
        return f"http://127.0.0.1:{self.port}/callback"

    def __enter__(self) -> LoopbackListener:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
