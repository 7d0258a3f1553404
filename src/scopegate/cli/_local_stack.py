"""Run the real authorization server and the example API as child processes on loopback.

``scopegate demo`` and the end-to-end tests use it: each service gets a free
``127.0.0.1`` port and a log file, and counts as ready once its health URL answers 200.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx

__all__ = [
    "EXAMPLE_API_FILE",
    "LocalService",
    "ServiceError",
    "find_example_api",
    "free_port",
    "spawn_service",
    "start_auth_server",
    "start_example_api",
]

READY_TIMEOUT = 30.0
EXAMPLE_API_FILE = Path("examples") / "example_api.py"
_CLI = "from scopegate.cli.main import main; main()"
_PORT_ATTEMPTS = 3


class ServiceError(Exception):
    """A local service could not be started (the message says why and where its log is)."""


class _ExitedEarly(ServiceError):
    """The child died before it was ready (e.g. its port was taken meanwhile)."""


def free_port() -> int:
    """Return a TCP port nobody listens on right now on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(eq=False)
class LocalService:
    """One child process serving HTTP on loopback."""

    name: str
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def pid(self) -> int:
        """Return the child's process id."""
        return self.process.pid

    def log_tail(self, lines: int = 15) -> str:
        """Return the last lines of the service's log (for error messages)."""
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def wait_ready(self, path: str, timeout: float = READY_TIMEOUT) -> None:
        """Poll ``url + path`` until it answers 200; raise if the child dies or time runs out."""
        deadline = time.monotonic() + timeout
        while True:
            code = self.process.poll()
            if code is not None:
                raise _ExitedEarly(
                    f"{self.name} exited with code {code} before it was ready "
                    f"(log: {self.log_path})\n{self.log_tail()}"
                )
            try:
                if httpx.get(self.url + path, timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass  # not listening yet
            if time.monotonic() > deadline:
                raise ServiceError(
                    f"{self.name} did not answer {path} within {timeout:g}s (log: {self.log_path})"
                )
            time.sleep(0.1)

    def stop(self, timeout: float = 10.0) -> None:
        """Terminate the child (SIGTERM, then SIGKILL after ``timeout``) and reap it."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def spawn_service(
    name: str,
    argv: list[str],
    *,
    url: str,
    ready_path: str,
    env: Mapping[str, str],
    log_path: Path,
    detach: bool,
) -> LocalService:
    with log_path.open("ab") as log:
        # The argv is ours: sys.executable and fixed arguments, never shell text.
        process = subprocess.Popen(  # noqa: S603
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=dict(env),
            start_new_session=detach,  # a kept service outlives a Ctrl+C in this terminal
        )
    service = LocalService(name, url, process, log_path)
    try:
        service.wait_ready(ready_path)
    except BaseException:
        service.stop()
        raise
    return service


def start_auth_server(
    database_url: str,
    log_dir: Path,
    *,
    extra_env: Mapping[str, str] | None = None,
    detach: bool = False,
) -> LocalService:
    """Start ``scopegate serve`` on a free loopback port; its URL is also its issuer.

    :param database_url: the SQLAlchemy URL (an SQLite file is created and migrated).
    :param log_dir: where ``auth-server.log`` goes.
    :param extra_env: more ``SCOPEGATE_*`` settings (e.g. a short device interval).
    :param detach: start it in its own session so it can outlive this process.
    """
    last: _ExitedEarly | None = None
    for _ in range(_PORT_ATTEMPTS):  # another process may grab the port we picked
        port = free_port()
        issuer = f"http://127.0.0.1:{port}"
        argv = [sys.executable, "-c", _CLI, "serve", "--host", "127.0.0.1", "--port", str(port),
                "--database-url", database_url, "--issuer", issuer]
        try:
            return spawn_service("authorization server", argv, url=issuer,
                          ready_path="/.well-known/oauth-authorization-server",
                          env={**os.environ, **(extra_env or {})},
                          log_path=log_dir / "auth-server.log", detach=detach)
        except _ExitedEarly as exc:
            last = exc
    assert last is not None
    raise last


def find_example_api() -> Path:
    """Return the source checkout holding ``examples/example_api.py`` (cwd first)."""
    for root in (Path.cwd(), Path(__file__).resolve().parents[3]):
        if (root / EXAMPLE_API_FILE).is_file():
            return root
    raise ServiceError(
        f"the example API ({EXAMPLE_API_FILE}) is not here: run this from a scopegate "
        "source checkout installed with `pip install -e .`"
    )


def start_example_api(
    issuer: str,
    log_dir: Path,
    *,
    extra_env: Mapping[str, str] | None = None,
    detach: bool = False,
    port: int | None = None,
) -> LocalService:
    """Start the example API (uvicorn) on a free loopback port, trusting ``issuer``.

    :param issuer: the authorization server whose tokens the API's guard accepts.
    :param log_dir: where ``example-api.log`` goes.
    :param extra_env: more settings for the guard (``SCOPEGATE_AUDIENCE_MODE``, ...).
    :param detach: start it in its own session so it can outlive this process.
    :param port: this port instead of a free one (its URL was registered beforehand, e.g.
        as a redirect URI); tried once.
    """
    root = find_example_api()
    env = {**os.environ, "SCOPEGATE_ISSUER": issuer, **(extra_env or {})}
    last: _ExitedEarly | None = None
    ports = [port] if port is not None else [free_port() for _ in range(_PORT_ATTEMPTS)]
    for port in ports:
        argv = [sys.executable, "-m", "uvicorn", "examples.example_api:app",
                "--app-dir", str(root), "--host", "127.0.0.1", "--port", str(port),
                "--log-level", "warning", "--no-server-header"]
        try:
            return spawn_service("example API", argv, url=f"http://127.0.0.1:{port}",
                          ready_path="/health", env=env,
                          log_path=log_dir / "example-api.log", detach=detach)
        except _ExitedEarly as exc:
            last = exc
    assert last is not None
    raise last
