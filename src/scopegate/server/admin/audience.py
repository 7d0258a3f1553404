"""The audience mode of a resource, as an operator sets it in the console (seed 000).

A resource's guards enforce, warn about or ignore tokens without its audience. An operator
who has watched the rollout switches the mode here: it is stored, audited and announced,
and every guard that reports usage follows at its next report, or at once with Redis.
"""

from __future__ import annotations

from collections.abc import Iterable

from ...events import audience_notice, changed
from ...store import Database
from ...store.models.base import utcnow
from ...store.repositories.resources import ResourceRepository
from ...store.repositories.usage import AudienceModes, UsageRepository
from .audit import audit
from .errors import Invalid, NotFound, quoted
from .notify import notify

__all__ = ["MODES", "known_resources", "set_audience_mode"]

MODES = ("off", "warn", "enforce")


def known_resources(db: Database, static: Iterable[str] = ()) -> list[str]:
    """Resources an operator can manage: the catalog's audiences (``static``), registered
    ones and any a guard reported for."""
    registered = {record.identifier for record in ResourceRepository(db).list()}
    return sorted(registered | set(static) | set(UsageRepository(db).resources()))


def set_audience_mode(db: Database, resource: str, mode: str, actor: str | None,
                      static: Iterable[str] = ()) -> None:
    """Store ``mode`` for ``resource`` and tell its guards.

    :raises Invalid: not one of :data:`MODES`.
    :raises NotFound: no such resource is registered or reported.
    """
    if mode not in MODES:
        raise Invalid(f"audience mode must be one of {', '.join(MODES)}, not {quoted(mode)}")
    if resource not in known_resources(db, static):
        raise NotFound(f"no resource {quoted(resource)} is registered or reported")
    AudienceModes(db).set(resource, mode, actor, utcnow())
    audit("audience_mode.set", actor, resource=resource, mode=mode)
    notify(db, changed(audience_notice(resource)))
