"""Failure throttles of the sign-in and device pages: memory, or Redis for every replica.

Only failures count, each attempt is counted before it is checked, and the wait grows
with each failure up to a maximum (see :mod:`._base`).
"""

from ._base import Backoff, Counter, FailureStore, Ticket
from .memory import MemoryFailureStore
from .policy import LoginLimits, client_address, wait_phrase
from .redis import FailoverStore, RedisFailureStore, create_failure_store

__all__ = [
    "Backoff",
    "Counter",
    "FailoverStore",
    "FailureStore",
    "LoginLimits",
    "MemoryFailureStore",
    "RedisFailureStore",
    "Ticket",
    "client_address",
    "create_failure_store",
    "wait_phrase",
]
