"""Benchmark: API-key verification per request, from the checksum to the guard.

Prints µs per call (median of five batches) for:

- the checksum alone (what a typo or a random string costs: no store read);
- SHA-256 + constant-time compare of a key;
- ``ApiKeyRepository.verify`` on an SQLite file (checksum + one primary-key read joined
  with the owner + hash compare; ``last_used_at`` throttled to once a minute);
- the RFC 7662 introspection endpoint in process (client auth + the above + JSON);
- the guard's ``Authenticator.authenticate``: cache hit (no call to the server) and cache
  miss (introspection of the real app over httpx.ASGITransport).

Run: ``python bench/bench_api_keys.py``.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
from starlette.testclient import TestClient

from scopegate.guard import Authenticator, GuardConfig, RateLimit
from scopegate.ratelimit import MemoryRateLimiter
from scopegate.scopes import default_catalog
from scopegate.server.admin.client_spec import ClientSpec
from scopegate.server.admin.clients import register_client
from scopegate.server.app import create_app
from scopegate.server.config.settings import Settings
from scopegate.server.management.api_keys import repository
from scopegate.server.state import ServerState
from scopegate.store.models.users import User
from scopegate.tokens.api_keys import checksum_ok, generate_api_key, hash_matches

ISSUER = "http://bench"


def per_call_us(fn: Callable[[], object], seconds: float = 1.0) -> float:
    """Median of five timed batches, in µs per call."""
    n = 50
    while True:
        start = time.perf_counter()
        for _ in range(n):
            fn()
        if time.perf_counter() - start > seconds / 5:
            break
        n *= 2
    samples = []
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(n):
            fn()
        samples.append((time.perf_counter() - start) / n * 1e6)
    return sorted(samples)[2]


async def per_call_us_async(fn: Callable[[], Awaitable[object]], n: int) -> float:
    """Median of five batches of ``n`` awaited calls, in µs per call."""
    samples = []
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(n):
            await fn()
        samples.append((time.perf_counter() - start) / n * 1e6)
    return sorted(samples)[2]


def _setup(state: ServerState) -> tuple[str, tuple[str, str]]:
    with state.db.session() as session:
        session.add(User(id="usr_bench", email="bench@example.com", password_hash="x",
                         role="member"))
    _, key = repository(state).create(user_id="usr_bench", name="bench",
                                      scopes=["apps:read", "workspace:read"], expires_at=None)
    spec = ClientSpec(name="guard", grant_types=("client_credentials",),
                      allowed_scopes=frozenset({"api"}), default_scopes=frozenset({"api"}),
                      resource_servers=("https://api.scopegate.example",))  # RFC 7662 §4
    record, secret = register_client(state.db, state.pepper, spec)
    return key, (record.client_id, secret)


async def _guard(app: object, key: str, client: tuple[str, str]) -> tuple[float, float]:
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app),  # type: ignore[arg-type]
                             base_url=ISSUER)
    config = GuardConfig(issuer=ISSUER, audience="https://api.scopegate.example",
                         client_id=client[0], client_secret=client[1],
                         rate_limit=RateLimit(100_000, 0.05))
    auth = Authenticator(config, catalog=default_catalog(), limiter=MemoryRateLimiter(),
                         http=http)
    await auth.authenticate(key)  # warm

    async def miss() -> object:
        auth.cache.clear()
        return await auth.authenticate(key)

    miss_us = await per_call_us_async(miss, 200)
    hit_us = await per_call_us_async(lambda: auth.authenticate(key), 20_000)
    await http.aclose()
    return hit_us, miss_us


def main() -> None:
    """Print the figures."""
    new = generate_api_key()
    typo = new.key[:-1] + ("A" if new.key[-1] != "A" else "B")
    print("API-key verification per request (µs, median of 5 batches)")
    print(f"  checksum_ok (typo refused, no store):   "
          f"{per_call_us(lambda: checksum_ok(typo)):8.2f}")
    print(f"  checksum_ok (valid key):                "
          f"{per_call_us(lambda: checksum_ok(new.key)):8.2f}")
    print(f"  sha256 + constant-time compare:         "
          f"{per_call_us(lambda: hash_matches(new.key, new.key_hash)):8.2f}")
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings.from_env(env={}, database_url=f"sqlite:///{Path(tmp) / 'b.db'}",
                                     issuer=ISSUER)
        app = create_app(settings)
        with TestClient(app, base_url=ISSUER) as http:
            state: ServerState = app.state.server
            key, client = _setup(state)
            repo = repository(state)
            print(f"  repository.verify (SQLite, hit row):    "
                  f"{per_call_us(lambda: repo.verify(key)):8.2f}")
            print(f"  repository.verify (typo, no store):     "
                  f"{per_call_us(lambda: repo.verify(typo)):8.2f}")

            def introspect() -> object:
                return http.post("/oauth/introspect", data={"token": key}, auth=client)

            assert introspect().json()["active"] is True  # type: ignore[attr-defined]
            print(f"  /oauth/introspect in process:           {per_call_us(introspect):8.2f}")
            hit_us, miss_us = asyncio.run(_guard(app, key, client))
            print(f"  guard authenticate, cache hit:          {hit_us:8.2f}")
            print(f"  guard authenticate, cache miss (RFC 7662 to the app): {miss_us:8.2f}")


if __name__ == "__main__":
    main()
