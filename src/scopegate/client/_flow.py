"""Flows: generators that yield HTTP requests and a few effects, driven sync or async.

Every token operation (discovery, client credentials, refresh, device polling, step-up)
is written once as a generator. It yields an :class:`httpx.Request` when it needs a
response, or an :class:`Effect` for the only things that differ between sync and async
code: locks, sleeping and blocking work (disk, keyring, the browser).

One :class:`Driver` runs every flow: it resumes the flow with each answer and throws
each error into it (a transport error or a refused answer, so a flow can carry on
without an optional answer such as the scope catalog), and frees the flow's locks
however it ends. Each mode adds one small function that carries an item out:
:func:`run_sync` / :func:`run_async` here (requests go through ``_http.send_bounded``:
no redirect followed, one total deadline, a size limit), and the ``httpx.Auth``
overrides in ``_auth.py``, which hand requests to httpx instead.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Generator, Iterator
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx

from ._http import AsyncSender, Sender, asend_bounded, send_bounded
from ._locks import HeldLock, LockRegistry, take_async, take_sync

__all__ = [
    "Acquire",
    "Blocking",
    "Driver",
    "Effect",
    "Flow",
    "Release",
    "Sleep",
    "adrive_with",
    "arun_effect",
    "drive_async",
    "drive_sync",
    "drive_with",
    "run_async",
    "run_effect",
    "run_sync",
]

T = TypeVar("T")
log = logging.getLogger("scopegate.client")


class Effect:
    """Something a flow asks its driver to do that is not an HTTP request."""


@dataclass(frozen=True, slots=True)
class Sleep(Effect):
    """Wait ``seconds`` (``time.sleep`` or ``asyncio.sleep``, injectable in tests)."""

    seconds: float


@dataclass(frozen=True, slots=True)
class Blocking(Effect):
    """Run blocking work (disk, keyring, browser); async drivers run it in a thread."""

    call: Callable[[], Any]


@dataclass(frozen=True, slots=True)
class Acquire(Effect):
    """Take the per-key lock: in-process (thread or task) and, if configured, a file lock."""

    key: str


@dataclass(frozen=True, slots=True)
class Release(Effect):
    """Give back the lock taken by :class:`Acquire` with the same key."""

    key: str


Flow = Generator[httpx.Request | Effect, Any, T]

class Driver:
    """The one driver: runs a flow, feeding it each answer or throwing each error in.

    A mode supplies only how an item is carried out (:func:`drive_sync` and
    :func:`drive_async` here, the ``httpx.Auth`` overrides in ``_auth.py``): it passes
    the work to :meth:`resume` or :meth:`aresume`. Locks the flow took are released on
    :meth:`close` however the flow ends.
    """

    __slots__ = ("_held", "done", "flow", "item", "locks", "result")

    def __init__(self, flow: Flow[Any], locks: LockRegistry) -> None:
        self.flow = flow
        self.locks = locks
        self.done = False
        self.result: Any = None
        self._held: dict[str, HeldLock] = {}
        #: What the flow asks for next (meaningless once ``done``).
        self.item: httpx.Request | Effect = self._step(next, flow)

    def _step(self, resume: Callable[[Any], Any], value: Any) -> Any:
        try:
            return resume(value)
        except StopIteration as stop:
            self.done, self.result = True, stop.value
            return None

    def resume(self, work: Callable[..., Any], *args: Any) -> None:
        """Run ``work(*args)`` and send its result into the flow, or throw its error in."""
        try:
            value = work(*args)
        except Exception as exc:
            self.item = self._step(self.flow.throw, exc)
        else:
            self.item = self._step(self.flow.send, value)

    async def aresume(self, work: Awaitable[Any]) -> None:
        """The asyncio form of :meth:`resume`."""
        try:
            value = await work
        except Exception as exc:
            self.item = self._step(self.flow.throw, exc)
        else:
            self.item = self._step(self.flow.send, value)

    def hold(self, key: str, held: HeldLock) -> None:
        """Remember the locks taken for ``key`` until :class:`Release` or :meth:`close`."""
        self._held[key] = held

    def release(self, key: str) -> None:
        """Give back the locks held for ``key`` (file lock first)."""
        held = self._held.pop(key, None)
        if held is not None:
            local_lock, file_lock = held
            if file_lock is not None:
                file_lock.release()
            local_lock.release()

    def close(self) -> None:
        """Release every lock still held and close the flow (it raised or was abandoned)."""
        for key in list(self._held):
            self.release(key)
        self.flow.close()

    def pending(self) -> Iterator[httpx.Request | Effect]:
        """Each item the flow asks for, until it returns; answer each with a resume."""
        while not self.done:
            yield self.item

    def __enter__(self) -> Driver:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def run_effect(run: Driver, effect: Effect, sleep: Callable[[float], None]) -> Any:
    """Carry out one effect inline (the synchronous mode)."""
    if isinstance(effect, Sleep):
        sleep(effect.seconds)
    elif isinstance(effect, Blocking):
        return effect.call()
    elif isinstance(effect, Acquire):
        run.hold(effect.key, take_sync(run.locks, effect.key))
    elif isinstance(effect, Release):
        run.release(effect.key)
    return None


async def arun_effect(
    run: Driver, effect: Effect, sleep: Callable[[float], Awaitable[None]]
) -> Any:
    """Carry out one effect on the running loop; blocking work goes to a worker thread."""
    if isinstance(effect, Sleep):
        await sleep(effect.seconds)
    elif isinstance(effect, Blocking):
        return await asyncio.to_thread(effect.call)
    elif isinstance(effect, Acquire):
        run.hold(effect.key, await take_async(run.locks, effect.key))
    elif isinstance(effect, Release):
        run.release(effect.key)
    return None


def run_sync(
    run: Driver, item: httpx.Request | Effect, send: Sender, sleep: Callable[[float], None]
) -> Any:
    """Carry out one item synchronously: send a request (bounded) or run an effect."""
    if isinstance(item, httpx.Request):
        return send_bounded(send, item)
    return run_effect(run, item, sleep)


async def run_async(
    run: Driver,
    item: httpx.Request | Effect,
    send: AsyncSender,
    sleep: Callable[[float], Awaitable[None]],
) -> Any:
    """Carry out one item on the running loop: send a request (bounded) or run an effect."""
    if isinstance(item, httpx.Request):
        return await asend_bounded(send, item)
    return await arun_effect(run, item, sleep)


def drive_sync(
    flow: Flow[T],
    send: Sender,
    locks: LockRegistry,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Run a flow to completion, sending its requests with ``send`` (``httpx.Client.send``).

    A transport error or a refused answer is thrown back into the flow, so it can do
    without an optional answer (the scope catalog).
    """
    with Driver(flow, locks) as run:
        for item in run.pending():
            run.resume(run_sync, run, item, send, sleep)
    result: T = run.result
    return result


async def drive_async(
    flow: Flow[T],
    send: AsyncSender,
    locks: LockRegistry,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> T:
    """Run a flow to completion on the running loop, sending requests with ``send``."""
    with Driver(flow, locks) as run:
        for item in run.pending():
            await run.aresume(run_async(run, item, send, sleep))
    result: T = run.result
    return result


def drive_with(
    flow: Flow[T], http: httpx.Client | None, locks: LockRegistry, sleep: Callable[[float], None]
) -> T:
    """:func:`drive_sync` through ``http``, or through a client opened for this call."""
    with nullcontext(http) if http else httpx.Client(timeout=30) as client:
        return drive_sync(flow, client.send, locks, sleep)


async def adrive_with(
    flow: Flow[T],
    http: httpx.AsyncClient | None,
    locks: LockRegistry,
    sleep: Callable[[float], Awaitable[None]],
) -> T:
    """:func:`drive_async` through ``http``, or through a client opened for this call."""
    async with nullcontext(http) if http else httpx.AsyncClient(timeout=30) as client:
        return await drive_async(flow, client.send, locks, sleep)
