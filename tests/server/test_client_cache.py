"""The token endpoint's client cache: many active clients stay cached, memory stays bounded.

Issue 14: with requests spread over 10,000 machine clients, the cache used to clear itself
whenever it was full, and every client then cost a database read again.
"""

from __future__ import annotations

import asyncio
import gc
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest

from scopegate.server.oauth2.client_cache import MAX_ENTRIES, ClientCache
from scopegate.store import Database
from scopegate.store.repositories import ClientRecord, ClientRepository


class CountingRepository(ClientRepository):
    """The real repository, counting the reads the cache lets through."""

    reads = 0

    def get(self, client_id: str) -> ClientRecord | None:
        self.reads += 1
        return super().get(client_id)


@pytest.fixture
def repo(tmp_path: Path) -> Iterator[CountingRepository]:
    db = Database(f"sqlite:///{tmp_path / 'clients.db'}")
    db.upgrade()
    yield CountingRepository(db)
    db.dispose()


def _create(repo: ClientRepository, count: int) -> list[str]:
    return [repo.create(client_id=f"sgc_{n:05d}", name=f"machine {n}", secret_hash="0" * 64,
                        grant_types=["client_credentials"], allowed_scopes=["api"],
                        default_scopes=["api"]).client_id for n in range(count)]


def test_a_full_cache_drops_the_least_recent_client_not_all(repo: CountingRepository) -> None:
    ids = _create(repo, 4)
    cache = ClientCache(repo, ttl=60.0, max_entries=3)

    async def scenario() -> None:
        for client_id in ids:  # the fourth pushes out the first only
            assert (await cache.get(client_id)) is not None
        before = repo.reads
        for client_id in ids[1:]:
            await cache.get(client_id)
        assert repo.reads == before, "recently used clients were read again"
        await cache.get(ids[0])
        assert repo.reads == before + 1

    asyncio.run(scenario())


def test_ten_thousand_active_clients_fit_in_bounded_memory(repo: CountingRepository) -> None:
    ids = _create(repo, 1_000)
    cache = ClientCache(repo, ttl=60.0)

    async def fill() -> None:
        for client_id in ids:
            await cache.get(client_id)

    gc.collect()
    tracemalloc.start()
    try:
        asyncio.run(fill())
        gc.collect()
        per_client = tracemalloc.get_traced_memory()[0] / len(ids)
    finally:
        tracemalloc.stop()
    assert MAX_ENTRIES >= 10_000
    # measured 1.8 KB; the bound stated in client_cache.py: 50,000 clients < 150 MB
    assert per_client < 3_000, f"{per_client:.0f} bytes per cached client"


def test_with_pushed_changes_the_cache_keeps_clients_for_minutes() -> None:
    """Issue 14: with Redis, changes are pushed, so 10,000 active clients stay cached
    (a 5 s TTL made each one a database read every few seconds); alone, the TTL is the bound."""
    from scopegate.server.config.settings import Settings
    from scopegate.server.state import PUSHED_CACHE_TTL, cache_ttl

    alone = Settings.from_env(env={}, database_url="sqlite:///x.db")
    shared = alone.replace(redis_url="redis://127.0.0.1:6379/0")
    assert cache_ttl(alone) == alone.client_cache_ttl == 5.0
    assert cache_ttl(shared) == PUSHED_CACHE_TTL >= 300
    assert cache_ttl(shared.replace(client_cache_ttl=900.0)) == 900.0
