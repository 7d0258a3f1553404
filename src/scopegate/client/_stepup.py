"""Step-up decisions: pure functions that say what to do when a token lacks scopes.

``plan_step_up`` decides; the session carries the decision out. Keeping the decision
pure lets the non-interactive path be tested without a TTY or a browser.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TextIO

from scopegate.scopes import (
    Catalog,
    canonical_names,
    covers,
    missing,
    scopes_from_value,
    union,
)

from ._challenges import parse_challenges
from ._exceptions import IdentityChanged, ScopeNotGranted
from ._tokens import Token

__all__ = [
    "Covered",
    "MissingNonInteractive",
    "Reauthenticate",
    "StepUpPlan",
    "check_identity",
    "insufficient_scope",
    "is_interactive",
    "plan_step_up",
    "verify_granted",
]


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


def is_interactive(streams: Iterable[TextIO | None] | None = None) -> bool:
    """Return whether a person can answer a login here.

    False when ``CI`` is set; otherwise True if ANY of stdin/stdout/stderr is a TTY, so
    redirecting one stream does not block a user who can still use the browser.
    """
    if os.environ.get("CI", "").strip().lower() not in ("", "0", "false"):
        return False
    chosen = (sys.stdin, sys.stdout, sys.stderr) if streams is None else streams
    for stream in chosen:
        try:
            if stream is not None and stream.isatty():
                return True
        except (AttributeError, ValueError):
            continue
    return False


def insufficient_scope(
    challenges: Iterable[str], catalog: Catalog | None = None
) -> frozenset[str] | None:
    """Read the scopes from an RFC 6750 ``insufficient_scope`` Bearer challenge.

    ``challenges`` are ``WWW-Authenticate`` values; each may hold several challenges.

    Returns None when no challenge says ``error="insufficient_scope"``; an empty set
    when it does but names no scope. With the issuer's ``catalog``, aliases in the
    challenge come back as canonical names.
    """
    for scheme, params in parse_challenges(challenges):
        if scheme == "bearer" and params.get("error") == "insufficient_scope":
            return canonical_names(scopes_from_value(params.get("scope", "")) or (), catalog)
    return None


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
