"""``scopegate serve --workers 2``: /metrics answers for both workers, whichever scrapes."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from scopegate.cli._local_stack import free_port
from scopegate.server.ops.metrics import MULTIPROC_ENV, prepare_multiprocess_dir

JWKS_OK = 'scopegate_http_requests_total{endpoint="jwks",method="GET",status="2xx"}'
REQUESTS = 40


def _count(text: str, series: str) -> float:
    for line in text.splitlines():
        if line.startswith(series + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def _wait_until_up(proc: subprocess.Popen[str], base: str) -> None:
    deadline = time.monotonic() + 30
    while True:
        assert proc.poll() is None, proc.communicate()[1]
        try:
            httpx.get(f"{base}/healthz", timeout=1).raise_for_status()
            return
        except httpx.HTTPError:
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.2)


def test_two_workers_sum_their_counts_in_every_scrape(tmp_path: Path) -> None:
    scopegate = str(Path(sys.executable).with_name("scopegate"))
    port, shared = free_port(), tmp_path / "metrics"
    shared.mkdir()
    (shared / "counter_999999.db").write_bytes(b"stale")  # a previous run's counts
    env = {**os.environ, "SCOPEGATE_DATABASE_URL": f"sqlite:///{tmp_path / 'serve.db'}",
           MULTIPROC_ENV: str(shared)}
    proc = subprocess.Popen([scopegate, "serve", "--port", str(port), "--workers", "2"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(proc, base)
        for _ in range(REQUESTS):  # a new connection each: the kernel spreads them
            assert httpx.get(f"{base}/jwks.json", timeout=5).status_code == 200
        scrapes = [httpx.get(f"{base}/metrics", timeout=5).text for _ in range(6)]
        writers = {re.sub(r"\D", "", f.name) for f in shared.glob("counter_*.db")}
    finally:
        proc.terminate()
        proc.communicate(timeout=15)
    assert not (shared / "counter_999999.db").exists()
    assert len(writers) == 2, writers  # both workers counted requests
    for text in scrapes:
        assert _count(text, JWKS_OK) == REQUESTS


def test_one_worker_needs_no_directory_and_several_get_a_fresh_one(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(MULTIPROC_ENV, "")  # recorded, so the variable is undone after
    monkeypatch.delenv(MULTIPROC_ENV)
    assert prepare_multiprocess_dir(1) is None and MULTIPROC_ENV not in os.environ
    created = prepare_multiprocess_dir(2)
    try:
        assert created is not None and os.environ[MULTIPROC_ENV] == str(created)
        assert list(created.iterdir()) == []
    finally:
        if created is not None:
            created.rmdir()
