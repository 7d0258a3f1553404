"""The real topology: two server replicas and two guard replicas on PostgreSQL and Redis.

Both replicas serve one issuer from one PostgreSQL database; both guards (the example API)
trust that issuer. Every process reaches Redis through a TCP proxy this test owns, so a
Redis outage is the proxy cut, never the machine's Redis stopped. Issue 14: a revocation on
replica 1 is refused at guard 2 within 1 s, a client deleted is refused on replica 1 within
1 s, and an outage yields no 5xx but the documented 503s and never revives a revoked token.
"""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from _servers import API_AUDIENCE, READ_PATH, _admin
from typer.testing import CliRunner

from scopegate.cli._local_stack import LocalService, find_example_api, free_port, spawn_service
from scopegate.cli.main import app as cli
from tcp_proxy import CuttableProxy

PROPAGATION_BUDGET = 1.0  # seconds, the promise
_CLI = "from scopegate.cli.main import main; main()"


@dataclass
class Topology:
    """The running replicas, the Redis proxy, and what the admin CLI registered."""

    servers: list[LocalService]
    guards: list[LocalService]
    proxy: CuttableProxy
    env: dict[str, str]
    client_id: str
    client_secret: str
    delays: dict[str, float] = field(default_factory=dict)

    def token_url(self, replica: int) -> str:
        return self.servers[replica].url + "/oauth/token"

    def revoke_url(self, replica: int) -> str:
        return self.servers[replica].url + "/oauth/revoke"


def _start_server(index: int, issuer: str, port: int, env: dict[str, str],
                  workdir: Path) -> LocalService:
    argv = [sys.executable, "-c", _CLI, "serve", "--host", "127.0.0.1", "--port", str(port),
            "--issuer", issuer]
    return spawn_service(f"server replica {index}", argv, url=f"http://127.0.0.1:{port}",
                         ready_path="/.well-known/oauth-authorization-server", env=env,
                         log_path=workdir / f"server-{index}.log", detach=False)


def _start_guard(index: int, env: dict[str, str], workdir: Path) -> LocalService:
    port = free_port()
    argv = [sys.executable, "-m", "uvicorn", "examples.example_api:app",
            "--app-dir", str(find_example_api()), "--host", "127.0.0.1", "--port", str(port),
            "--log-level", "warning"]
    return spawn_service(f"guard replica {index}", argv, url=f"http://127.0.0.1:{port}",
                         ready_path="/health", env=env, log_path=workdir / f"guard-{index}.log",
                         detach=False)


def _register(db_url: str, env: dict[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)  # the admin CLI reads the KEK (and Redis, to publish) from here
    try:
        upgraded = CliRunner().invoke(cli, ["db", "upgrade", "--database-url", db_url])
        assert upgraded.exit_code == 0, upgraded.output  # PostgreSQL is migrated explicitly
        guard = _admin(db_url, "clients", "create", "--name", "example-api",
                       "--resource-server", API_AUDIENCE)
        service = _admin(db_url, "clients", "create", "--name", "nightly report",
                         "--scope", "api", "--scope", "apps:read")
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return guard, service


@pytest.fixture(scope="module")
def topology(postgres_url: str, redis_url: str,
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[Topology]:
    workdir = tmp_path_factory.mktemp("topology")
    redis = urlsplit(redis_url)
    proxy = CuttableProxy((redis.hostname or "127.0.0.1", redis.port or 6379))
    proxy.start()
    kek = base64.urlsafe_b64encode(os.urandom(32)).rstrip(b"=").decode()
    env = {"SCOPEGATE_DATABASE_URL": postgres_url, "SCOPEGATE_KEK": kek,
           # DB 13: these processes' keys stay apart from the other tests' (db 0)
           "SCOPEGATE_REDIS_URL": f"redis://127.0.0.1:{proxy.port}/13"}
    started: list[LocalService] = []
    try:
        port = free_port()
        issuer = f"http://127.0.0.1:{port}"  # the load balancer's URL: replica 1 here
        # Every process, the admin CLI included, names the same issuer: events are per issuer.
        env["SCOPEGATE_ISSUER"] = issuer
        guard_client, service = _register(postgres_url, env)
        child_env = {**os.environ, **env}
        started.append(_start_server(1, issuer, port, child_env, workdir))
        started.append(_start_server(2, issuer, free_port(), child_env, workdir))
        guard_env = {**child_env, "SCOPEGATE_ISSUER": issuer, "SCOPEGATE_AUDIENCE": API_AUDIENCE,
                     "SCOPEGATE_GUARD_CLIENT_ID": guard_client["client_id"],
                     "SCOPEGATE_GUARD_CLIENT_SECRET": guard_client["client_secret"]}
        for index in (1, 2):
            started.append(_start_guard(index, guard_env, workdir))
        yield Topology(started[:2], started[2:], proxy, env, service["client_id"],
                       service["client_secret"])
    finally:
        for service_process in reversed(started):
            service_process.stop()
        proxy.close()


def _token(top: Topology, replica: int, client: tuple[str, str] | None = None) -> httpx.Response:
    return httpx.post(top.token_url(replica), timeout=5,
                      data={"grant_type": "client_credentials", "scope": "apps:read"},
                      auth=client or (top.client_id, top.client_secret))


def _read(guard: LocalService, token: str) -> int:
    return httpx.get(guard.url + READ_PATH, headers={"Authorization": f"Bearer {token}"},
                     timeout=5).status_code


def _seconds_until(condition: Callable[[], bool], limit: float) -> float | None:
    """Poll ``condition`` until true; the delay in seconds, or None past ``limit``."""
    start = time.monotonic()
    while time.monotonic() - start <= limit:
        if condition():
            return time.monotonic() - start
        time.sleep(0.02)
    return None


def test_a_token_from_replica_1_opens_both_guards(topology: Topology) -> None:
    issued = _token(topology, 0)
    assert issued.status_code == 200, issued.text
    token = issued.json()["access_token"]
    assert [_read(guard, token) for guard in topology.guards] == [200, 200]
    # and replica 2 issues tokens the guards accept: the signing keys are shared
    from_two = _token(topology, 1).json()["access_token"]
    assert [_read(guard, from_two) for guard in topology.guards] == [200, 200]


def test_revoked_on_replica_1_is_refused_on_guard_2_within_1s(topology: Topology) -> None:
    token = _token(topology, 0).json()["access_token"]
    assert _read(topology.guards[1], token) == 200  # guard 2 has it cached as valid
    revoked = httpx.post(topology.revoke_url(0), data={"token": token}, timeout=5,
                         auth=(topology.client_id, topology.client_secret))
    assert revoked.status_code == 200  # RFC 7009 §2.2
    delay = _seconds_until(lambda: _read(topology.guards[1], token) == 401, 3.0)
    topology.delays["revocation"] = delay if delay is not None else float("inf")
    assert delay is not None and delay <= PROPAGATION_BUDGET, f"refused after {delay}s"


def test_client_deleted_is_refused_on_replica_1_within_1s(topology: Topology) -> None:
    made = _register(topology.env["SCOPEGATE_DATABASE_URL"], topology.env)[1]
    client = (made["client_id"], made["client_secret"])
    assert _token(topology, 0, client).status_code == 200  # replica 1 caches the client
    deleted = subprocess.run(
        [sys.executable, "-c", _CLI, "clients", "delete", client[0]],
        env={**os.environ, **topology.env}, capture_output=True, text=True, timeout=30)
    assert deleted.returncode == 0, deleted.stderr
    delay = _seconds_until(lambda: _token(topology, 0, client).status_code == 401, 6.0)
    topology.delays["client deletion"] = delay if delay is not None else float("inf")
    assert delay is not None and delay <= PROPAGATION_BUDGET, f"refused after {delay}s"


def _statuses_during(top: Topology, seconds: float, token: str) -> list[int]:
    """Everything the replicas answer while Redis is away."""
    seen: list[int] = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        for replica in (0, 1):
            seen.append(_token(top, replica).status_code)
        for guard in top.guards:
            seen.append(_read(guard, token))
        time.sleep(0.05)
    return seen


def test_a_redis_outage_gives_no_5xx_but_503_and_service_recovers(topology: Topology) -> None:
    token = _token(topology, 0).json()["access_token"]
    topology.proxy.cut()
    try:
        seen = _statuses_during(topology, 3.0, token)
    finally:
        topology.proxy.restore()
    assert [s for s in seen if s >= 500 and s != 503] == []
    fresh = _seconds_until(
        lambda: all(_read(g, token) == 200 for g in topology.guards)
        and all(_token(topology, r).status_code == 200 for r in (0, 1)), 10.0)
    assert fresh is not None, "the replicas did not recover within 10 s of Redis coming back"


def test_a_revoked_token_stays_refused_through_a_redis_outage(topology: Topology) -> None:
    token = _token(topology, 0).json()["access_token"]
    assert [_read(guard, token) for guard in topology.guards] == [200, 200]
    httpx.post(topology.revoke_url(0), data={"token": token}, timeout=5,
               auth=(topology.client_id, topology.client_secret))
    time.sleep(PROPAGATION_BUDGET)
    topology.proxy.cut()
    try:
        during = [_read(guard, token) for _ in range(20) for guard in topology.guards]
    finally:
        topology.proxy.restore()
    time.sleep(2.0)  # the subscriptions reconnect
    after = [_read(guard, token) for guard in topology.guards]
    assert 200 not in during + after, f"accepted again: during {during}, after {after}"
