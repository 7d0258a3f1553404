"""The step protocol and the helper that lets app callables be sync or async."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar

from ..context import GuardContext

__all__ = ["Step", "call_app"]

T = TypeVar("T")


class Step(Protocol):
    """One pipeline step: reads and fills the context, raises an OAuthError to refuse."""

    async def __call__(self, ctx: GuardContext) -> None: ...


async def call_app(func: Callable[..., T | Awaitable[T]], *args: Any) -> T:
    """Call an application-provided callable that may be sync or async."""
    result = func(*args)
    if inspect.isawaitable(result):
        return await result
    return result
