"""What the server says while its database cannot be reached.

Every request that needs the database answers 503 ``temporarily_unavailable`` with
``Retry-After`` (a page asks the person to try again); the process logs one line when
the outage starts and one when it ends, never a traceback per request. Which errors are
an outage is decided in :mod:`scopegate.store.availability`, only on the exception path.
The pool pings a connection before lending it, so the first request after the database
returns succeeds: nothing needs a restart.
"""

from __future__ import annotations

from starlette.responses import HTMLResponse

from ...errors import TemporarilyUnavailable
from ...store import AvailabilityChange
from ..pages.render import message_page
from .logs import logger

__all__ = ["RETRY_AFTER_S", "log_availability", "unavailable", "unavailable_page"]

RETRY_AFTER_S = 5


def unavailable() -> TemporarilyUnavailable:
    """The error every endpoint answers while the database cannot be reached."""
    return TemporarilyUnavailable(retry_after_s=RETRY_AFTER_S)


def unavailable_page() -> HTMLResponse:
    """The 503 page for a person (login, authorization, consent, device pages)."""
    response = message_page(
        "Temporarily unavailable",
        f"The service is temporarily unavailable. Try again in {RETRY_AFTER_S} seconds.",
        status=503, error_code=TemporarilyUnavailable.error)
    response.headers["Retry-After"] = str(RETRY_AFTER_S)
    return response


def log_availability(change: AvailabilityChange) -> None:
    """One line when the database becomes unreachable, one when it answers again."""
    if change.available:
        logger.warning("database outage ended", extra={"down_for_s": change.down_for_s})
    else:
        logger.error("database outage started", extra={"reason": change.reason})
