"""Structured JSON logs: one object per line, with the record's ``extra`` fields.

Security events (:func:`security_event`) go to the ``scopegate.security`` logger with the
client address, so a failed sign-in, a throttle, a reused refresh token, a failed client
authentication or a new API key each leave one line; none carries a secret.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Mapping
from typing import Any

import orjson

__all__ = ["JsonFormatter", "address_of", "configure_logging", "logger", "security_event"]

logger = logging.getLogger("scopegate.server")
security_logger = logging.getLogger("scopegate.security")

# uvicorn's "color_message" repeats "msg" with ANSI colour codes: not for JSON.
_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "color_message"}


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON line: time, level, logger, message, extras, exception."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                out[key] = value
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(out, default=str).decode()


def configure_logging(level: str = "INFO") -> None:
    """Send scopegate and uvicorn logs to stderr as JSON lines."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    for name in ("scopegate", "uvicorn", "uvicorn.error"):
        log = logging.getLogger(name)
        log.handlers[:] = [handler]
        log.setLevel(level)
        log.propagate = False


def address_of(scope: Mapping[str, Any]) -> str:
    """The client's address (the TCP peer, or what a trusted proxy said: uvicorn's
    ``--forwarded-allow-ips`` has rewritten ``scope["client"]`` by then)."""
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


def security_event(scope: Mapping[str, Any], event: str, **fields: Any) -> None:
    """Log one security event for the request ``scope``. Never pass a secret."""
    security_logger.warning(event.replace("_", " "), extra={
        "event": event, "client_address": address_of(scope), **fields})
