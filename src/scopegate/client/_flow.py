"""Flows: generators that yield HTTP requests and a few effects, driven sync or async.

Every token operation (discovery, client credentials, refresh, device polling, step-up)
is written once as a generator. It yields an :class:`httpx.Request` when it needs a
response, or an :class:`Effect` for the only things that differ between sync and async
code: locks, sleeping and blocking work (disk, keyring, the browser). The drivers here,
and the ``sync_auth_flow``/``async_auth_flow`` overrides in ``_auth.py``, run them.
The drivers here throw a transport error (or a refused answer: too large, redirected)
back into the flow, so a flow can carry on without an optional answer (the scope
catalog); inside an ``httpx.Auth`` flow httpx itself raises it to the caller. They send
through ``_http.send_bounded``: no redirect is followed, and each answer is read within
one total deadline and a size limit.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import threading
import time
import weakref
from collections.abc import Awaitable, Callable, Generator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import filelock
import httpx

from ._exceptions import ClientError, TokenStoreError
from ._http import AsyncSender, Sender, asend_bounded, send_bounded

__all__ = [
    "Acquire",
    "AsyncEffects",
    "Blocking",
    "Effect",
    "Flow",
    "LockRegistry",
    "Release",
    "Sleep",
    "SyncEffects",
    "drive_async",
    "drive_sync",
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

_LOCK_TIMEOUT = 300.0


class LockRegistry:
    """Per-key locks for threads, for asyncio tasks (per loop) and across processes.

    :param lock_dir: where per-key lock files live; None keeps locks in this process.
    """

    def __init__(self, lock_dir: Path | None = None) -> None:
        self.lock_dir = lock_dir
        self._guard = threading.Lock()
        self._thread_locks: dict[str, threading.Lock] = {}
        self._task_locks: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, dict[str, asyncio.Lock]
        ] = weakref.WeakKeyDictionary()

    def thread_lock(self, key: str) -> threading.Lock:
        """Return the thread lock for ``key``."""
        with self._guard:
            return self._thread_locks.setdefault(key, threading.Lock())

    def task_lock(self, key: str) -> asyncio.Lock:
        """Return the asyncio lock for ``key`` on the running loop."""
        loop = asyncio.get_running_loop()
        with self._guard:
            return self._task_locks.setdefault(loop, {}).setdefault(key, asyncio.Lock())

    def file_lock(self, key: str) -> filelock.FileLock | None:
        """Return a fresh cross-process lock for ``key``, or None without a lock dir."""
        if self.lock_dir is None:
            return None
        try:
            self.lock_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as exc:
            _unlockable(self.lock_dir, exc)
            return None
        name = hashlib.sha256(key.encode()).hexdigest()[:32] + ".lock"
        return filelock.FileLock(self.lock_dir / name, timeout=_LOCK_TIMEOUT, thread_local=False)


def _unlockable(where: Path | str, exc: OSError) -> None:
    # A directory nobody can write (read-only config) holds no cache to protect either.
    log.info("cannot lock %s (%s); not coordinating with other processes", where, exc.strerror)


def _acquire_file(lock: filelock.FileLock) -> None:
    try:
        lock.acquire()
    except filelock.Timeout:  # before OSError: it is a TimeoutError
        raise TokenStoreError(
            f"another scopegate process has held {lock.lock_file} for {_LOCK_TIMEOUT:.0f}s"
        ) from None
    except OSError as exc:
        _unlockable(lock.lock_file, exc)  # releasing a lock never taken is a no-op


class _HeldLocks:
    """The locks a driver took for a flow: released in order, all of them on ``close()``."""

    def __init__(self) -> None:
        self._held: dict[str, tuple[threading.Lock | asyncio.Lock, filelock.FileLock | None]] = {}

    def _release(self, key: str) -> None:
        held = self._held.pop(key, None)
        if held is not None:
            local_lock, file_lock = held
            if file_lock is not None:
                file_lock.release()
            local_lock.release()

    def close(self) -> None:
        """Release every lock still held (the flow raised or was abandoned)."""
        for key in list(self._held):
            self._release(key)


class SyncEffects(_HeldLocks):
    """Run effects for a synchronous driver; ``close()`` frees locks a flow left held."""

    def __init__(self, locks: LockRegistry, sleep: Callable[[float], None] = time.sleep) -> None:
        super().__init__()
        self._locks = locks
        self._sleep = sleep

    def run(self, effect: Effect) -> Any:
        """Carry out one effect and return what the flow receives."""
        if isinstance(effect, Sleep):
            self._sleep(effect.seconds)
        elif isinstance(effect, Blocking):
            return effect.call()
        elif isinstance(effect, Acquire):
            thread_lock = self._locks.thread_lock(effect.key)
            thread_lock.acquire()
            file_lock = self._locks.file_lock(effect.key)
            try:
                if file_lock is not None:
                    _acquire_file(file_lock)
            except BaseException:
                thread_lock.release()
                raise
            self._held[effect.key] = (thread_lock, file_lock)
        elif isinstance(effect, Release):
            self._release(effect.key)
        return None

    def advance(self, flow: Flow[Any], effect: Effect) -> httpx.Request | Effect:
        """Run ``effect`` and resume the flow with its result, or throw its error into it."""
        try:
            result = self.run(effect)
        except Exception as exc:
            return flow.throw(exc)
        return flow.send(result)


class AsyncEffects(_HeldLocks):
    """Run effects for an asyncio driver; blocking work goes to a worker thread."""

    def __init__(
        self, locks: LockRegistry, sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    ) -> None:
        super().__init__()
        self._locks = locks
        self._sleep = sleep

    async def run(self, effect: Effect) -> Any:
        """Carry out one effect and return what the flow receives."""
        if isinstance(effect, Sleep):
            await self._sleep(effect.seconds)
        elif isinstance(effect, Blocking):
            return await asyncio.to_thread(effect.call)
        elif isinstance(effect, Acquire):
            task_lock = self._locks.task_lock(effect.key)
            await task_lock.acquire()
            file_lock = self._locks.file_lock(effect.key)
            try:
                if file_lock is not None:
                    await asyncio.to_thread(_acquire_file, file_lock)
            except BaseException:
                task_lock.release()
                raise
            self._held[effect.key] = (task_lock, file_lock)
        elif isinstance(effect, Release):
            self._release(effect.key)
        return None

    async def advance(self, flow: Flow[Any], effect: Effect) -> httpx.Request | Effect:
        """Run ``effect`` and resume the flow with its result, or throw its error into it."""
        try:
            result = await self.run(effect)
        except Exception as exc:
            return flow.throw(exc)
        return flow.send(result)


def drive_sync(
    flow: Flow[T],
    send: Sender,
    locks: LockRegistry,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Run a flow to completion, sending its requests with ``send`` (``httpx.Client.send``)."""
    effects = SyncEffects(locks, sleep)
    try:
        item = next(flow)
        while True:
            if isinstance(item, httpx.Request):
                try:
                    response = send_bounded(send, item)
                except (httpx.TransportError, ClientError) as exc:
                    item = flow.throw(exc)  # a flow may do without an optional answer
                    continue
                item = flow.send(response)
            else:
                item = effects.advance(flow, item)
    except StopIteration as stop:
        result: T = stop.value
        return result
    finally:
        effects.close()
        flow.close()


async def drive_async(
    flow: Flow[T],
    send: AsyncSender,
    locks: LockRegistry,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> T:
    """Run a flow to completion on the running loop, sending requests with ``send``."""
    effects = AsyncEffects(locks, sleep)
    try:
        item = next(flow)
        while True:
            if isinstance(item, httpx.Request):
                try:
                    response = await asend_bounded(send, item)
                except (httpx.TransportError, ClientError) as exc:
                    item = flow.throw(exc)
                    continue
                item = flow.send(response)
            else:
                item = await effects.advance(flow, item)
    except StopIteration as stop:
        result: T = stop.value
        return result
    finally:
        effects.close()
        flow.close()
