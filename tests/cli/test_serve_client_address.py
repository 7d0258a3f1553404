"""``scopegate serve`` learns the client address from the TCP peer, or from a proxy it trusts.

Observed as a user would: the sign-in throttle counts failures per (account, address),
so whether a second ``X-Forwarded-For`` address shares the first one's wait shows which
address the server believed.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from scopegate.cli._local_stack import LocalService, free_port

from .test_serve_subprocess import SCOPEGATE

EMAIL, PASSWORD = "owner@example.org", "owner's long passphrase"
# One wrong password from an address makes the next try from there wait a minute.
THROTTLE = ["--login-failures-per-account-address", "1", "--login-first-wait", "60"]


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('xff') / 'scopegate.db'}"
    subprocess.run([SCOPEGATE, "users", "create", "--email", EMAIL, "--password-stdin",
                    "--database-url", url], input=PASSWORD + "\n", text=True, check=True,
                   capture_output=True)
    return url


@contextmanager
def serve(database: str, log_dir: Path, *flags: str,
          env: dict[str, str] | None = None) -> Iterator[str]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    argv = [SCOPEGATE, "serve", "--port", str(port), "--database-url", database, *flags]
    log = log_dir / f"serve-{port}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT,
                                   env={**os.environ, **(env or {})})
    service = LocalService("scopegate serve", base, process, log)
    try:
        service.wait_ready("/.well-known/oauth-authorization-server")
        yield base
    finally:
        service.stop()


def _login(base: str, forwarded_for: str, password: str) -> httpx.Response:
    with httpx.Client(base_url=base, headers={"X-Forwarded-For": forwarded_for}) as browser:
        form = browser.get("/login")
        csrf = re.search(r'name="csrf" value="([^"]*)"', form.text)
        assert csrf, form.text[:300]
        return browser.post("/login", data={"csrf": csrf.group(1), "email": EMAIL,
                                            "password": password, "next": "/device"})


def test_x_forwarded_for_is_ignored_by_default(database: str, tmp_path: Path) -> None:
    with serve(database, tmp_path, *THROTTLE) as base:
        assert _login(base, "203.0.113.10", "not the password").status_code == 401
        # Another claimed address is still this same peer, 127.0.0.1: it must wait too.
        refused = _login(base, "198.51.100.20", PASSWORD)
        assert refused.status_code == 429
        assert 55 <= int(refused.headers["retry-after"]) <= 60


def test_x_forwarded_for_is_honoured_from_a_trusted_proxy(database: str,
                                                         tmp_path: Path) -> None:
    trust = {"SCOPEGATE_FORWARDED_ALLOW_IPS": "127.0.0.1"}
    with serve(database, tmp_path, *THROTTLE, env=trust) as base:
        assert _login(base, "203.0.113.11", "not the password").status_code == 401
        assert _login(base, "203.0.113.11", PASSWORD).status_code == 429
        # The owner behind the same proxy, at another address, signs in.
        assert _login(base, "198.51.100.21", PASSWORD).status_code == 303


def test_the_flag_names_trusted_proxies(database: str, tmp_path: Path) -> None:
    with serve(database, tmp_path, *THROTTLE, "--forwarded-allow-ips", "10.0.0.0/8") as base:
        # 127.0.0.1 is not in 10.0.0.0/8: its header is not believed.
        assert _login(base, "203.0.113.12", "not the password").status_code == 401
        assert _login(base, "198.51.100.22", PASSWORD).status_code == 429
    with serve(database, tmp_path, *THROTTLE, "--forwarded-allow-ips", "127.0.0.1") as base:
        assert _login(base, "203.0.113.13", "not the password").status_code == 401
        assert _login(base, "198.51.100.23", PASSWORD).status_code == 303


def test_a_bad_proxy_list_is_refused_before_serving(database: str) -> None:
    done = subprocess.run([SCOPEGATE, "serve", "--port", str(free_port()), "--database-url",
                           database, "--forwarded-allow-ips", "proxy.internal"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "FORWARDED_ALLOW_IPS" in done.stderr
