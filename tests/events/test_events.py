"""The deny-list and the event channels, as a replica sees them."""

from __future__ import annotations

import asyncio
import logging
import math
import time

import pytest

from scopegate.events import (
    Event,
    InProcessChannel,
    RedisChannel,
    Revocations,
    Watcher,
    changed,
    revoked,
)

KEYS = ("client:svc", "sub:usr_1", "jti:abc")


def test_a_revoked_jti_denies_its_token_whenever_it_was_issued() -> None:
    revocations = Revocations()
    assert not revocations.denies(KEYS, time.time())
    revocations.add(revoked("jti", "abc", time.time() + 60))
    assert revocations.denies(KEYS, time.time() + 10)
    assert not revocations.denies(("client:svc", "jti:other"), time.time())


def test_a_user_cut_off_denies_older_tokens_only() -> None:
    revocations = Revocations()
    cut = time.time()
    revocations.add(revoked("sub", "usr_1", cut + 3600, not_before=cut))
    assert revocations.denies(KEYS, cut - 5)  # issued before the password change
    assert not revocations.denies(KEYS, cut + 1)  # signed in again afterwards


def test_revocations_are_forgotten_once_every_token_they_deny_has_expired() -> None:
    revocations = Revocations()
    revocations.add(revoked("jti", "old", time.time() - 1))
    revocations.add(revoked("jti", "abc", time.time() + 60))
    assert revocations.forget_expired() == 1
    assert len(revocations) == 1 and "jti:abc" in revocations


def test_an_event_survives_the_wire_and_unknown_kinds_are_refused() -> None:
    event = revoked("sub", "usr_1", 2e9, not_before=1.7e9)
    assert Event.decode(event.encode()) == event
    jti = revoked("jti", "abc", 2e9)
    assert math.isinf(Event.decode(jti.encode()).not_before)
    with pytest.raises(ValueError, match="unknown revocation kind"):
        revoked("password", "x", 2e9)


def test_a_late_in_process_subscriber_hears_earlier_revocations_and_later_changes() -> None:
    async def scenario() -> None:
        channel = InProcessChannel()
        await channel.publish(revoked("jti", "abc", time.time() + 60))
        seen: list[Event] = []
        watcher = Watcher(channel, on_event=seen.append)
        watcher.start()
        await asyncio.wait_for(watcher.connected_event.wait(), 1)
        channel.publish_sync(changed("client:svc"))
        await watcher.stop()
        assert watcher.revocations.denies(KEYS, 0)
        assert [e.value for e in seen] == ["abc", "client:svc"]

    asyncio.run(scenario())


def test_an_unreachable_redis_is_logged_once_as_stale_and_the_deny_list_is_kept(
        caplog: pytest.LogCaptureFixture) -> None:
    async def scenario() -> Watcher:
        watcher = Watcher(RedisChannel("redis://127.0.0.1:1/0"))
        watcher.revocations.add(revoked("jti", "abc", time.time() + 60))
        watcher.start()
        await asyncio.sleep(1.0)
        await watcher.stop()
        return watcher

    with caplog.at_level(logging.WARNING, logger="scopegate.events"):
        watcher = asyncio.run(scenario())
    assert [r.message for r in caplog.records].count(
        next(r.message for r in caplog.records)) == 1
    assert "revocation events unavailable" in caplog.records[0].message
    assert watcher.staleness_s() == math.inf  # never synced: fully stale
    assert watcher.revocations.denies(KEYS, 0)
