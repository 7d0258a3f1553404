"""The step-up decisions: pure, so the non-interactive path is tested without a TTY.

:class:`~._session.TokenSession` asks :func:`plan_step_up` what to do when the token it
has lacks scopes, then checks the new token with :func:`verify_granted` and
:func:`check_identity` before it replaces the old one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from scopegate.scopes import Catalog, canonical_names, covers, missing, union

from ._exceptions import IdentityChanged, ScopeNotGranted
from ._tokens import Token

__all__ = ["Covered", "MissingNonInteractive", "Reauthenticate", "StepUpPlan",
           "check_identity", "plan_step_up", "verify_granted"]


@dataclass(frozen=True, slots=True)
class Covered:
    """The granted scopes already cover the required ones."""


@dataclass(frozen=True, slots=True)
class Reauthenticate:
    """Run one interactive flow requesting ``scopes`` (defaults + granted + required)."""

    scopes: frozenset[str]


@dataclass(frozen=True, slots=True)
class MissingNonInteractive:
    """Scopes are missing and nobody can log in here: fail fast listing them."""

    missing: frozenset[str]


StepUpPlan = Covered | Reauthenticate | MissingNonInteractive


def plan_step_up(
    granted: Iterable[str],
    required: Iterable[str],
    interactive: bool,
    defaults: Iterable[str] = (),
    catalog: Catalog | None = None,
) -> StepUpPlan:
    """Decide the step-up for a token granted ``granted`` when ``required`` is needed.

    :param catalog: the issuer's catalog: a granted scope that implies (or is the
        canonical name of) a required one covers it. None compares names literally.
    """
    granted_set = frozenset(granted)
    required_set = canonical_names(required, catalog)
    if covers(granted_set, required_set, catalog):
        return Covered()
    if not interactive:
        return MissingNonInteractive(missing(granted_set, required_set, catalog))
    return Reauthenticate(union(canonical_names(defaults, catalog), granted_set, required_set))


def verify_granted(token: Token, required: Iterable[str], catalog: Catalog | None = None) -> None:
    """Raise :class:`ScopeNotGranted` if the new token lacks any required scope.

    :param catalog: the issuer's catalog, so ``all`` is granted by ``scopegate:all``
        and ``apps:read`` by ``apps:run``; None compares names literally.
    """
    lacking = missing(token.scopes, required, catalog)
    if lacking:
        raise ScopeNotGranted(lacking)


def check_identity(previous: Token | None, new: Token) -> None:
    """Raise :class:`IdentityChanged` if a step-up signed in as someone else."""
    if previous is None or previous.subject is None or new.subject is None:
        return
    if previous.subject != new.subject:
        raise IdentityChanged(previous.subject, new.subject)
