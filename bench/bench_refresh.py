"""Benchmark: the refresh-token grant on SQLite and PostgreSQL, and rows written per refresh.

Each chain is one refresh family refreshed again and again (every refresh presents the
token the previous one returned, as a real client must). ``--chains`` families run
concurrently. The real app runs in process behind ``httpx.ASGITransport`` (no sockets),
so the figures are the server's own cost: form parsing, client lookup, the refresh
token read, the access-token JWT, the rotation UPDATE + INSERT in one transaction.

Rows written are counted from the database driver (``rowcount`` of every INSERT, UPDATE
and DELETE the engine runs during the timed loop), so the number is measured, not
claimed.

Run: ``python bench/bench_refresh.py [--n 300] [--chains 1,8] [--backends sqlite,postgres]``.

Figures on the 2-core development machine (other test suites running at the same time,
so treat them as a floor; two runs shown to give the spread)::

    backend  chains  refresh/s (n=100 | n=300)  p50 ms        rows/refresh  writes/refresh
    sqlite        1        444 | 165            2.1 | 2.7         2.00          2.00
    sqlite        8        417 | 256            6.9 | 13.0        2.00          2.00
    postgres      1        265 | 140            3.7 | 4.8         2.00          2.00
    postgres      8        239 | 203           29.9 | 34.7        2.00          2.00

Every refresh writes exactly two rows: the UPDATE marking the presented token rotated and
the INSERT of its successor, in one transaction.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from scopegate.server.admin.client_spec import ClientSpec
from scopegate.server.admin.clients import register_client
from scopegate.server.app import create_app
from scopegate.server.config.settings import Settings
from scopegate.server.refresh.tokens import new_refresh_token
from scopegate.server.shared.user_grants import hash_secret
from scopegate.server.state import ServerState
from scopegate.store import Database
from scopegate.store.repositories.refresh_tokens import NewRefreshToken
from scopegate.store.repositories.users import new_id
from scopegate.store.sealing import generate_kek

POSTGRES_URL = os.environ.get("SCOPEGATE_TEST_POSTGRES_URL",
                              "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@contextmanager
def database(kind: str) -> Iterator[str]:
    """A fresh SQLite file or PostgreSQL schema (migrated), removed afterwards."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            yield f"sqlite:///{Path(tmp) / 'bench.db'}"
        return
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    url = f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    db = Database(url)
    db.upgrade()
    db.dispose()
    try:
        yield url
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _seed(state: ServerState, chains: int) -> tuple[str, list[str]]:
    """A public client, a member, and one live refresh token per chain."""
    services = state.user_grants
    spec = ClientSpec(name="bench", grant_types=("authorization_code", "refresh_token"),
                      allowed_scopes=frozenset({"openid", "api"}),
                      default_scopes=frozenset({"api"}),
                      redirect_uris=("http://127.0.0.1/callback",), public=True)
    client_id = register_client(state.db, state.pepper, spec)[0].client_id
    user = services.users.create(email=f"{client_id}@bench.example", password_hash="x",
                                 role="member")
    now = datetime.now(UTC)
    tokens = []
    for _ in range(chains):
        token = new_refresh_token()
        services.refresh.add(NewRefreshToken(
            token_hash=hash_secret(token), family_id=new_id("fam"), client_id=client_id,
            user_id=user.id, scopes=frozenset({"api"}), resources=(), auth_time=now,
            expires_at=now + timedelta(days=1)))
        tokens.append(token)
    return client_id, tokens


class WriteCounter:
    """Counts rows changed by INSERT/UPDATE/DELETE on an engine while enabled."""

    def __init__(self, engine: sa.engine.Engine) -> None:
        self.rows = 0
        self.statements = 0
        self.enabled = False
        sa.event.listen(engine, "after_cursor_execute", self._seen)

    def _seen(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        verb = statement.lstrip().split(" ", 1)[0].upper()
        if self.enabled and verb in ("INSERT", "UPDATE", "DELETE"):
            self.statements += 1
            self.rows += max(cursor.rowcount, 0)


async def run(kind: str, n: int, chains: int) -> dict[str, float]:
    """Time ``n`` refreshes per chain, ``chains`` chains at once; return the figures."""
    with database(kind) as url:
        # A fresh KEK per run: PostgreSQL needs one, and the database is thrown away after.
        settings = Settings.from_env(env={}, database_url=url, issuer="http://bench",
                                     kek=generate_kek())
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            state: ServerState = app.state.server
            client_id, warmup = _seed(state, 1)
            counter = WriteCounter(state.db.engine)
            transport = httpx.ASGITransport(app=app)
            latencies: list[float] = []
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:

                async def chain(token: str, count: int) -> None:
                    for _ in range(count):
                        started = time.perf_counter()
                        response = await http.post("/oauth/token", data={
                            "grant_type": "refresh_token", "refresh_token": token,
                            "client_id": client_id})
                        latencies.append(time.perf_counter() - started)
                        if response.status_code != 200:
                            raise RuntimeError(response.text)
                        token = response.json()["refresh_token"]

                await chain(warmup[0], 20)  # warm caches, pools and the parse cache
                latencies.clear()
                fresh = _fresh_tokens(state, client_id, chains)
                counter.enabled = True
                started = time.perf_counter()
                await asyncio.gather(*(chain(t, n) for t in fresh))
                elapsed = time.perf_counter() - started
                counter.enabled = False
        total = n * chains
        return {
            "refreshes": total,
            "per_s": total / elapsed,
            "p50_ms": statistics.median(latencies) * 1000,
            "p95_ms": statistics.quantiles(latencies, n=20)[18] * 1000,
            "rows_per_refresh": counter.rows / total,
            "statements_per_refresh": counter.statements / total,
        }


def _fresh_tokens(state: ServerState, client_id: str, chains: int) -> list[str]:
    """New families for the timed run (the warm-up chain has rotated its token)."""
    services = state.user_grants
    user = services.users.by_email(f"{client_id}@bench.example")
    assert user is not None
    now = datetime.now(UTC)
    tokens = []
    for _ in range(chains):
        token = new_refresh_token()
        services.refresh.add(NewRefreshToken(
            token_hash=hash_secret(token), family_id=new_id("fam"), client_id=client_id,
            user_id=user.id, scopes=frozenset({"api"}), resources=(), auth_time=now,
            expires_at=now + timedelta(days=1)))
        tokens.append(token)
    return tokens


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print one line per (backend, chains)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--n", type=int, default=300, help="refreshes per chain")
    parser.add_argument("--chains", default="1,8", help="comma-separated concurrency levels")
    parser.add_argument("--backends", default="sqlite,postgres")
    args = parser.parse_args(argv)
    print(f"refresh-token grant, {args.n} refreshes per chain (in process, ASGITransport)")
    print(f"{'backend':<10} {'chains':>6} {'refresh/s':>10} {'p50 ms':>8} {'p95 ms':>8} "
          f"{'rows/refresh':>13} {'writes/refresh':>15}")
    for kind in args.backends.split(","):
        for chains in (int(c) for c in args.chains.split(",")):
            r = asyncio.run(run(kind, args.n, chains))
            print(f"{kind:<10} {chains:>6} {r['per_s']:>10.0f} {r['p50_ms']:>8.2f} "
                  f"{r['p95_ms']:>8.2f} {r['rows_per_refresh']:>13.2f} "
                  f"{r['statements_per_refresh']:>15.2f}")


if __name__ == "__main__":
    main()
