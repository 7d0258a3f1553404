"""Remember when a self-registered client last obtained a token, so that registrations
nobody uses can be pruned (``SCOPEGATE_REGISTRATION_UNUSED_TTL``).

A response hook of the token issuer: it writes ``clients.last_used_at`` at most once an
hour per client and process, in a worker thread, so the token endpoint's hot path (and
clients registered by an operator) costs one dictionary look-up.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from starlette.concurrency import run_in_threadpool

from ...store.models import utcnow
from ..admin.clients import record_client_use
from ..oauth2.issuance import Issued, ResponseHook
from ..state import ServerState

__all__ = ["RECORD_EVERY_S", "record_use_hook"]

RECORD_EVERY_S = 3600.0
_MAX_REMEMBERED = 10_000


def record_use_hook(state: ServerState) -> ResponseHook:
    """The response hook that records a self-registered client's use."""
    recorded: dict[str, float] = {}

    async def record_use(issued: Issued) -> Mapping[str, Any]:
        client = issued.client
        if not client.registered_dynamically:
            return {}
        now = time.monotonic()
        if recorded.get(client.client_id, -RECORD_EVERY_S) > now - RECORD_EVERY_S:
            return {}
        if len(recorded) >= _MAX_REMEMBERED:
            recorded.clear()
        recorded[client.client_id] = now
        await run_in_threadpool(record_client_use, state.db, client.client_id, utcnow())
        return {}

    return record_use
