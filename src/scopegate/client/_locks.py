"""Per-key locks for token work: threads, asyncio tasks (per loop) and other processes.

A flow yields ``Acquire(key)`` / ``Release(key)``; the driver takes the in-process lock
first, then (with a lock directory) a file lock, so two processes sharing a token cache
never refresh or log in for the same issuer and client at once.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import threading
import weakref
from pathlib import Path
from typing import TypeAlias

import filelock

from ._exceptions import TokenStoreError

__all__ = ["HeldLock", "LockRegistry", "take_async", "take_sync"]

log = logging.getLogger("scopegate.client")

# A string: ``threading.Lock`` is a factory function at run time, not a class.
HeldLock: TypeAlias = "tuple[threading.Lock | asyncio.Lock, filelock.FileLock | None]"

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



def take_sync(locks: LockRegistry, key: str) -> HeldLock:
    """Take ``key``'s thread lock, then its file lock (if any); return both."""
    thread_lock = locks.thread_lock(key)
    thread_lock.acquire()
    file_lock = locks.file_lock(key)
    try:
        if file_lock is not None:
            _acquire_file(file_lock)
    except BaseException:
        thread_lock.release()
        raise
    return thread_lock, file_lock


async def take_async(locks: LockRegistry, key: str) -> HeldLock:
    """Take ``key``'s task lock, then its file lock in a worker thread; return both."""
    task_lock = locks.task_lock(key)
    await task_lock.acquire()
    file_lock = locks.file_lock(key)
    try:
        if file_lock is not None:
            await asyncio.to_thread(_acquire_file, file_lock)
    except BaseException:
        task_lock.release()
        raise
    return task_lock, file_lock
