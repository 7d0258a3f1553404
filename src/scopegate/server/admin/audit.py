"""Audit events of admin changes: one JSON log line each, on the ``scopegate.audit`` logger.

Every change made through the console (and the admin layer it calls) says who did what to
what; never a secret. Operators ship these lines to their log store like any other.
"""

from __future__ import annotations

import logging
from typing import Any

__all__ = ["audit", "audit_log"]

audit_log = logging.getLogger("scopegate.audit")


def audit(action: str, actor: str | None, **target: Any) -> None:
    """Record that ``actor`` (a user id, or None for the CLI) did ``action`` to ``target``."""
    audit_log.info(action, extra={"event": action, "actor": actor or "cli", **target})
