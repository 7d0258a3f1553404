"""Shared test fixtures: real PostgreSQL, Redis and Chromium when present.

On a laptop without a service, its tests skip with a reason. `.ci/run` sets
SCOPEGATE_REQUIRE_SERVICES=1, which turns every such skip into a failure so CI proves them.
"""

from __future__ import annotations

import os
import shutil
import socket
import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

REQUIRE_SERVICES = os.environ.get("SCOPEGATE_REQUIRE_SERVICES") == "1"
POSTGRES_URL = os.environ.get(
    "SCOPEGATE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("SCOPEGATE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
CHROMIUM = os.environ.get("SCOPEGATE_TEST_CHROMIUM", "/usr/bin/chromium")


def missing_service(reason: str) -> None:
    """Skip on a laptop; fail when CI requires every service."""
    if REQUIRE_SERVICES:
        pytest.fail(f"required service missing (SCOPEGATE_REQUIRE_SERVICES=1): {reason}")
    pytest.skip(reason)


def _reachable(url: str, default_port: int) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or default_port),
                                      timeout=1.0):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for this test session, dropped afterwards."""
    if not _reachable(POSTGRES_URL, 5432):
        missing_service(f"PostgreSQL not reachable at {POSTGRES_URL}")
    import sqlalchemy as sa

    name = f"scopegate_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    base = POSTGRES_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The Redis server URL (tests namespace their keys with ``redis_prefix``)."""
    if not _reachable(REDIS_URL, 6379):
        missing_service(f"Redis not reachable at {REDIS_URL}")
    return REDIS_URL


@pytest.fixture
def redis_prefix() -> str:
    """A key prefix unique to one test, so concurrent runs never collide."""
    return f"sgtest:{uuid.uuid4().hex[:12]}:"


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """Path of Debian's Chromium for Playwright (``executable_path``)."""
    if not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
        missing_service(f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    return CHROMIUM if os.path.exists(CHROMIUM) else str(shutil.which("chromium"))
