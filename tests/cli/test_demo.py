"""`scopegate demo` run as a person would: a subprocess, its output read step by step."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

SCOPEGATE = str(Path(sys.executable).with_name("scopegate"))
API_AUDIENCE = "https://api.scopegate.example"


def _run(*args: str, cwd: Path, env: dict[str, str] | None = None,
         timeout: float = 90) -> subprocess.CompletedProcess[str]:
    # A wide terminal so rich never wraps a line the assertions read.
    full_env = {**os.environ, "COLUMNS": "250", "NO_COLOR": "1", **(env or {})}
    return subprocess.run([SCOPEGATE, *args], cwd=cwd, env=full_env, capture_output=True,
                          text=True, timeout=timeout, stdin=subprocess.DEVNULL)


def _steps(output: str) -> dict[int, str]:
    """Split the demo's output into its numbered steps."""
    parts = re.split(r"^\((\d)\) ", output, flags=re.MULTILINE)
    return {int(number): text for number, text in zip(parts[1::2], parts[2::2], strict=True)}


def _service_urls(output: str) -> tuple[str, str]:
    auth = re.search(r"authorization server: +(http://127\.0\.0\.1:\d+)", output)
    api = re.search(r"example API: +(http://127\.0\.0\.1:\d+)", output)
    assert auth and api, output
    return auth.group(1), api.group(1)


def _refused(url: str) -> bool:
    try:
        httpx.get(url, timeout=2)
    except httpx.ConnectError:
        return True
    return False


def test_demo_issues_calls_is_refused_steps_up_and_cleans_up(tmp_path: Path) -> None:
    result = _run("demo", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    steps = _steps(out)
    assert sorted(steps) == [1, 2, 3, 4, 5, 6], out

    # (1) the issued token: the api scope brought the API audience with it.
    assert f"aud:   {API_AUDIENCE}" in steps[1]
    assert re.search(r"^  scope: api apps:read$", steps[1], re.MULTILINE), steps[1]

    # (2) the read route answers 200 with the cached token: no token request in between.
    assert "→ GET /workspaces/demo/apps" in steps[2] and "← 200 OK" in steps[2]
    assert "/oauth/token" not in steps[2]
    assert "Hello world" in steps[2]

    # (3) the run route refuses that token with an RFC 6750 challenge naming the scope.
    assert "403 Forbidden" in steps[3]
    assert 'error="insufficient_scope"' in steps[3] and 'scope="apps:run"' in steps[3]

    # (4) step-up: 403, one token request for configured + granted + required, one retry.
    trace = [line.strip() for line in steps[4].splitlines()
             if line.strip().startswith(("→", "←"))]
    assert trace[0] == "→ POST /workspaces/demo/apps/hello/run"
    assert trace[1].startswith("← 403 Forbidden") and "insufficient_scope" in trace[1]
    assert trace[2] == ("→ POST /oauth/token  grant_type=client_credentials "
                        "scope=api apps:read apps:run")
    assert trace[3:] == ["← 200 OK", "→ POST /workspaces/demo/apps/hello/run", "← 200 OK"]
    assert re.search(r"^  scope: api apps:read apps:run$", steps[4], re.MULTILINE)
    assert '"ran_as": "sgc_' in steps[4]

    # (5) delegation: reports saw the demo client as the caller and the example API acting.
    assert "→ GET /workspaces/demo/delegated/apps  ← 200" in steps[5]
    assert re.search(r"reports saw caller sgc_\w+ with act\.sub sgc_\w+", steps[5]), steps[5]

    # (6) a DPoP-bound token: 200 with the SDK's key, 401 as a bare Bearer token.
    assert "200 OK with a DPoP token bound to key" in steps[6]
    assert "the same token without the key: 401" in steps[6]

    # Everything is shut down and the temporary data is gone.
    assert "all services stopped" in out
    for url in _service_urls(out):
        assert _refused(url), f"{url} still answers after the demo"
    workdir = re.search(r"temporary SQLite database in (\S+)", out)
    assert workdir and not Path(workdir.group(1)).exists()


@dataclass
class Kept:
    """What a --keep demo left behind; stopped and removed after the test."""

    pids: list[int] = field(default_factory=list)
    workdir: Path | None = None


@pytest.fixture
def kept() -> Iterator[Kept]:
    left = Kept()
    yield left
    for pid in left.pids:  # only the three children the demo reported, by their ids
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    if left.workdir is not None:
        shutil.rmtree(left.workdir, ignore_errors=True)


def test_demo_keep_leaves_both_services_usable(tmp_path: Path, kept: Kept) -> None:
    result = _run("demo", "--keep", cwd=tmp_path)
    out = result.stdout
    stop = re.search(r"Stop them with:  kill (\d+) (\d+) (\d+)   \(data in (\S+)\)", out)
    assert stop, out + result.stderr
    kept.pids.extend(int(pid) for pid in stop.groups()[:3])
    kept.workdir = Path(stop.group(4))
    assert result.returncode == 0, out + result.stderr
    auth, api = _service_urls(out)
    assert httpx.get(api + "/health").json() == {"status": "ok"}
    assert httpx.get(auth + "/.well-known/oauth-authorization-server").json()["issuer"] == auth

    # The printed user-CLI command works against the kept stack.
    hint = re.search(r"SCOPEGATE_CONFIG_DIR=(\S+) SCOPEGATE_NO_KEYRING=1 scopegate (.+)$", out,
                     re.MULTILINE)
    assert hint, out
    token = _run(*hint.group(2).split(), cwd=tmp_path,
                 env={"SCOPEGATE_CONFIG_DIR": hint.group(1), "SCOPEGATE_NO_KEYRING": "1"})
    assert token.returncode == 0, token.stderr
    claims = json.loads(token.stdout)
    assert claims["iss"] == auth and claims["aud"] == API_AUDIENCE
    assert "apps:run" in claims["scope"].split()
