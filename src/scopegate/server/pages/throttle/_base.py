"""The failure-counter contract: reserve an attempt before checking it, release it after.

A counter remembers how many attempts failed and until when the next one must wait. An
attempt is counted *before* the costly or secret-revealing check (a password, a user
code), so a burst of parallel guesses is counted as it arrives, not after every guess
was already tried. When the check passes, the caller releases the attempt: it un-counts
it, and forgets the counters it names (a successful login clears that account and
address). Only failures therefore stay counted.

The wait grows like a back-off: ``free`` failures cost nothing, then each further failure
makes the next attempt wait ``first_wait_s``, doubled per failure, at most ``max_wait_s``.
A counter is forgotten ``reset_s`` after its last attempt (or its wait, if longer).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Protocol

__all__ = ["Backoff", "Counter", "FailureStore", "Ticket"]


@dataclass(frozen=True, slots=True)
class Backoff:
    """How one kind of counter turns failures into waits.

    :param free: failures before any wait.
    :param first_wait_s: the wait after failure ``free``; doubled per further failure.
    :param max_wait_s: the longest wait.
    :param reset_s: how long a counter outlives its last attempt.
    """

    free: int
    first_wait_s: float
    max_wait_s: float
    reset_s: float

    def wait_ms(self, failures: int) -> int:
        """Milliseconds the attempt after ``failures`` failures must wait (0: none)."""
        if failures < self.free:
            return 0
        doublings = min(failures - self.free, 60)  # 2**60 s is beyond any max wait
        return math.ceil(min(self.max_wait_s, self.first_wait_s * 2.0 ** doublings) * 1000)

    @property
    def reset_ms(self) -> int:
        """:attr:`reset_s` in whole milliseconds."""
        return math.ceil(self.reset_s * 1000)


Counter = tuple[str, Backoff]
"""A counter's key and its back-off."""


@dataclass(frozen=True, slots=True)
class Ticket:
    """The answer to :meth:`FailureStore.reserve`.

    :param admitted: whether the attempt may go on (it was counted on every counter).
    :param retry_after_s: when refused, whole seconds until every counter lets it in.
    :param keys: the counters the attempt was counted on.
    :param locks: per key, the wait deadline this attempt set (store clock, ms; 0: none),
        so that releasing it lifts only its own wait.
    :param local: decided by the in-process fallback while the shared store was down.
    """

    admitted: bool
    retry_after_s: int = 0
    keys: tuple[str, ...] = ()
    locks: tuple[int, ...] = ()
    local: bool = False


def refused(wait_ms: int) -> Ticket:
    """A refusal that waits ``wait_ms`` (rounded up to whole seconds, at least one)."""
    return Ticket(admitted=False, retry_after_s=max(1, math.ceil(wait_ms / 1000)))


class FailureStore(Protocol):
    """Failure counters kept in memory (one process) or in Redis (every replica)."""

    async def reserve(self, counters: Sequence[Counter]) -> Ticket:
        """Count one attempt on every counter, or on none if any of them is waiting."""
        ...

    async def release(self, ticket: Ticket, *, forget: Collection[str] = ()) -> None:
        """Un-count an admitted attempt that did not fail; drop the counters in ``forget``."""
        ...

    async def aclose(self) -> None:
        """Release connections (nothing for memory)."""
        ...
