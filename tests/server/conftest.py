"""Fixtures for server tests: a real app on a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from starlette.applications import Starlette
from starlette.testclient import TestClient

from scopegate.server.admin.client_spec import ClientSpec
from scopegate.server.admin.clients import register_client
from scopegate.server.app import create_app
from scopegate.server.config.settings import Settings
from scopegate.server.state import ServerState
from scopegate.store import Database

ISSUER = "http://testserver"
#: The key-encryption key of every PostgreSQL test server (a PostgreSQL database gets no
#: local key file: the server refuses to start without SCOPEGATE_KEK or SCOPEGATE_KEK_FILE).
TEST_KEK = "dGVzdC1rZWstZm9yLXNjb3BlZ2F0ZS10ZXN0cy0wMDA"


def settings_for(database_url: str, **overrides: Any) -> Settings:
    """Server settings on ``database_url``: SQLite uses its local key file, PostgreSQL
    :data:`TEST_KEK`."""
    kek = None if database_url.startswith("sqlite") else TEST_KEK
    return Settings.from_env(env={}, database_url=database_url,
                             **{"issuer": ISSUER, "kek": kek, **overrides})


def fresh_database_url(kind: str, request: pytest.FixtureRequest,
                       tmp: Path) -> Iterator[str]:
    """A new database: an empty SQLite file, or a migrated PostgreSQL schema (dropped after)."""
    if kind == "sqlite":
        yield f"sqlite:///{tmp / 'scopegate.db'}"
        return
    base = request.getfixturevalue("postgres_url")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(base)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    url = f"{base}?options=-csearch_path%3D{schema}"
    db = Database(url)
    db.upgrade()  # PostgreSQL is never migrated implicitly: as `scopegate db upgrade` would
    db.dispose()
    try:
        yield url
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest,
                 tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A fresh database per test module, on SQLite and on PostgreSQL."""
    yield from fresh_database_url(request.param, request, tmp_path_factory.mktemp("db"))


@pytest.fixture(scope="module")
def settings(database_url: str) -> Settings:
    """Server settings on the module's database."""
    return settings_for(database_url)


@pytest.fixture(scope="module")
def app(settings: Settings) -> Starlette:
    """The real application."""
    return create_app(settings)


@pytest.fixture(scope="module")
def http(app: Starlette) -> Iterator[TestClient]:
    """A client talking to the app in-process, lifespan run."""
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


@pytest.fixture(scope="module")
def state(http: TestClient, app: Starlette) -> ServerState:
    """The running server's state."""
    server: ServerState = app.state.server
    return server


class ClientFactory:
    """Registers OAuth clients through the admin operations (as the CLI does), with the
    scopes taken as given (a test may register what the catalog would refuse)."""

    def __init__(self, state: ServerState) -> None:
        self.state = state

    def __call__(self, scopes: tuple[str, ...] = ("api", "apps:read"),
                 defaults: tuple[str, ...] = ("api",),
                 grants: tuple[str, ...] = ("client_credentials",),
                 public: bool = False,
                 resource_servers: tuple[str, ...] = ()) -> tuple[str, str]:
        spec = ClientSpec(name="test", grant_types=grants, allowed_scopes=frozenset(scopes),
                          default_scopes=frozenset(defaults),
                          resource_servers=resource_servers, public=public)
        record, secret = register_client(self.state.db, self.state.pepper, spec)
        return record.client_id, secret


@pytest.fixture(scope="module")
def make_client(state: ServerState) -> ClientFactory:
    """Register a client: ``make_client(scopes=..., defaults=..., grants=...)``; a
    resource server (one that introspects) names what it serves in ``resource_servers``."""
    return ClientFactory(state)
