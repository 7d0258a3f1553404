"""A pipeline is an ordered list of steps run over one :class:`GuardContext`."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

from .config import RateLimit
from .context import GuardContext
from .declaration import requires
from .steps.base import Step

__all__ = ["Pipeline"]

F = TypeVar("F")


class Pipeline:
    """Runs its steps in order; the first step that raises an OAuthError decides the answer.

    Pipelines are immutable: :meth:`replace`, :meth:`without` and :meth:`then` return new ones.
    """

    __slots__ = ("steps",)

    def __init__(self, steps: Iterable[Step]) -> None:
        self.steps: tuple[Step, ...] = tuple(steps)

    async def run(self, ctx: GuardContext) -> None:
        """Run every step over ``ctx``."""
        for step in self.steps:
            await step(ctx)

    def replace(self, kind: type, step: Step) -> Pipeline:
        """Return a copy where every step of type ``kind`` is ``step``."""
        if not any(isinstance(s, kind) for s in self.steps):
            raise ValueError(f"no {kind.__name__} step in this pipeline")
        return Pipeline(step if isinstance(s, kind) else s for s in self.steps)

    def without(self, *kinds: type) -> Pipeline:
        """Return a copy without the steps of the given types."""
        return Pipeline(s for s in self.steps if not isinstance(s, kinds))

    def then(self, *steps: Step) -> Pipeline:
        """Return a copy with ``steps`` appended."""
        return Pipeline((*self.steps, *steps))

    def requires(self, *scopes: str, rate: RateLimit | None = None,
                 max_age: int | None = None, acr_values: Iterable[str] | str = ()
                 ) -> Callable[[F], F]:
        """Declare a route's scopes and run it through this pipeline (seed 003's ``guard``)."""
        return requires(*scopes, rate=rate, pipeline=self, max_age=max_age,
                        acr_values=acr_values)

    def __repr__(self) -> str:
        return f"Pipeline({', '.join(type(s).__name__ for s in self.steps)})"
