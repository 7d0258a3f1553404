"""The in-process limiter: exact sliding-window answers, bounded memory, thread safety."""

from __future__ import annotations

import threading

import pytest

from scopegate.ratelimit import Decision, MemoryRateLimiter


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def limiter(clock: FakeClock) -> MemoryRateLimiter:
    return MemoryRateLimiter(clock=clock)


def test_admits_exactly_limit_then_refuses_with_time_until_oldest_leaves(
    limiter: MemoryRateLimiter, clock: FakeClock
) -> None:
    answers = []
    for _ in range(5):
        answers.append(limiter.hit_sync("tok", limit=5, window_s=60))
        clock.now += 1.0
    assert [a.allowed for a in answers] == [True] * 5
    assert [a.remaining for a in answers] == [4, 3, 2, 1, 0]

    refused = limiter.hit_sync("tok", limit=5, window_s=60)  # at t0 + 5 s
    assert refused == Decision(allowed=False, limit=5, remaining=0, retry_after_ms=55_000)


def test_window_slides_one_slot_per_departed_admission(
    limiter: MemoryRateLimiter, clock: FakeClock
) -> None:
    start = clock.now
    for offset in (0.0, 10.0, 20.0):
        clock.now = start + offset
        assert limiter.hit_sync("k", limit=3, window_s=60).allowed

    clock.now = start + 59.999
    assert limiter.hit_sync("k", limit=3, window_s=60).retry_after_ms == 1

    clock.now = start + 60.0  # the first admission leaves exactly now
    assert limiter.hit_sync("k", limit=3, window_s=60).allowed
    again = limiter.hit_sync("k", limit=3, window_s=60)
    assert not again.allowed
    assert again.retry_after_ms == 10_000  # the admission at +10 s leaves at +70 s


def test_refused_hits_are_not_counted(limiter: MemoryRateLimiter, clock: FakeClock) -> None:
    start = clock.now
    limiter.hit_sync("k", limit=1, window_s=1)
    for i in range(50):
        clock.now = start + i / 100
        assert not limiter.hit_sync("k", limit=1, window_s=1).allowed
    clock.now = start + 1.0  # one second after the single admission
    assert limiter.hit_sync("k", limit=1, window_s=1).allowed


def test_keys_have_separate_windows(limiter: MemoryRateLimiter) -> None:
    assert limiter.hit_sync("a", limit=1, window_s=60).allowed
    assert not limiter.hit_sync("a", limit=1, window_s=60).allowed
    assert limiter.hit_sync("authfail:203.0.113.9", limit=1, window_s=60).allowed


def test_lowering_the_limit_waits_for_enough_departures(
    limiter: MemoryRateLimiter, clock: FakeClock
) -> None:
    start = clock.now
    for i in range(5):
        clock.now = start + i
        limiter.hit_sync("k", limit=5, window_s=60)
    clock.now = start + 5
    # Five in the window, new limit 3: the admissions at +0, +1 and +2 must all leave.
    assert limiter.hit_sync("k", limit=3, window_s=60).retry_after_ms == 57_000


def test_peek_answers_without_counting_or_creating_keys(
    limiter: MemoryRateLimiter, clock: FakeClock
) -> None:
    assert limiter.peek_sync("authfail:198.51.100.7", limit=2, window_s=60) == Decision(
        allowed=True, limit=2, remaining=2
    )
    assert len(limiter) == 0
    limiter.hit_sync("authfail:198.51.100.7", limit=2, window_s=60)
    assert limiter.peek_sync("authfail:198.51.100.7", limit=2, window_s=60).remaining == 1
    assert limiter.peek_sync("authfail:198.51.100.7", limit=2, window_s=60).remaining == 1
    clock.now += 1
    limiter.hit_sync("authfail:198.51.100.7", limit=2, window_s=60)
    blocked = limiter.peek_sync("authfail:198.51.100.7", limit=2, window_s=60)
    assert blocked == Decision(allowed=False, limit=2, remaining=0, retry_after_ms=59_000)


@pytest.mark.anyio
async def test_async_hit_shares_the_sync_window(limiter: MemoryRateLimiter) -> None:
    assert (await limiter.hit("k", limit=2, window_s=60)).allowed
    assert limiter.hit_sync("k", limit=2, window_s=60).allowed
    assert not (await limiter.peek("k", limit=2, window_s=60)).allowed
    assert not (await limiter.hit("k", limit=2, window_s=60)).allowed
    await limiter.aclose()


def test_key_count_never_exceeds_max_keys(clock: FakeClock) -> None:
    limiter = MemoryRateLimiter(max_keys=100, clock=clock)
    for i in range(5_000):
        limiter.hit_sync(f"spray-{i}", limit=5, window_s=60)
    assert len(limiter) == 100


def test_the_least_recently_used_key_is_evicted_first(clock: FakeClock) -> None:
    limiter = MemoryRateLimiter(max_keys=3, clock=clock)
    limiter.hit_sync("busy", limit=1, window_s=60)
    for i in range(10):
        limiter.hit_sync("busy", limit=1, window_s=60)  # keeps "busy" warm, refused
        limiter.hit_sync(f"cold-{i}", limit=1, window_s=60)
    assert not limiter.hit_sync("busy", limit=1, window_s=60).allowed  # still remembered


def test_idle_keys_are_swept_as_new_keys_arrive(clock: FakeClock) -> None:
    limiter = MemoryRateLimiter(max_keys=10_000, clock=clock)
    for i in range(500):
        limiter.hit_sync(f"old-{i}", limit=5, window_s=1)
    clock.now += 2.0  # every old key is now idle
    for i in range(500):
        limiter.hit_sync(f"new-{i}", limit=5, window_s=1)
    assert len(limiter) == 500


def test_threads_sharing_one_key_admit_exactly_the_limit() -> None:
    limiter = MemoryRateLimiter()
    admitted: list[bool] = []
    barrier = threading.Barrier(8)

    def hammer() -> None:
        barrier.wait()
        results = [limiter.hit_sync("shared", limit=50, window_s=60).allowed for _ in range(100)]
        admitted.extend(results)

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(admitted) == 50


@pytest.mark.parametrize(
    ("key", "limit", "window_s"),
    [
        ("", 1, 1.0),
        ("k" * 513, 1, 1.0),
        ("k", 0, 1.0),
        ("k", 100_001, 1.0),
        ("k", True, 1.0),
        ("k", 1, 0.0),
        ("k", 1, 0.0005),
        ("k", 1, 86_401.0),
        ("k", 1, float("nan")),
    ],
)
def test_bad_arguments_are_refused_before_any_state_changes(
    limiter: MemoryRateLimiter, key: str, limit: int, window_s: float
) -> None:
    with pytest.raises(ValueError):
        limiter.hit_sync(key, limit=limit, window_s=window_s)
    assert len(limiter) == 0

