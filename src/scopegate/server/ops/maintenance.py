"""The server's periodic maintenance pass, and the pruning it shares with the CLI.

Once a minute (``KEY_RELOAD_SECONDS`` in :mod:`scopegate.server.app`) one pass picks up
signing keys rotated by another process, deletes rows that can no longer matter, and
drops expired deny-list entries from memory. ``scopegate db prune`` runs the pruning
part once.

What is pruned, and when (``now`` is the pass's clock):

- ``authorization_codes``: expired, and the access token minted from it expired too
  (until then a late replay still revokes it);
- ``device_codes``: expired;
- ``refresh_tokens``: expired tokens, i.e. expired families whole and the rotated
  tokens of a live family once past their own expiry (until then presenting one is
  still detected as reuse; kept forever, a family would grow a row per refresh);
- ``revoked_tokens``: deny-list entries of tokens that have expired anyway;
- ``api_keys``: rotated-out secrets past their grace period are cleared (the key stays);
- ``consents``: rows whose user or client is gone;
- ``pushed_authorization_requests``: past their deadline (RFC 9126, used or not);
- ``user_sessions``: browser sessions past their idle or absolute deadline (a live
  session moves its deadline at most once a minute, see :mod:`.sessions`);
- ``usage_counts``: guards' usage counts older than :data:`USAGE_RETENTION` (the console
  looks back 90 days at most);
- ``clients``: public clients that registered themselves (RFC 7591, or a metadata
  document) and got no token for ``SCOPEGATE_REGISTRATION_UNUSED_TTL`` (the server's
  pass and ``scopegate db prune`` give it; a caller that gives none prunes no client).

Work per pass is bounded: each table is pruned in batches of ``PRUNE_BATCH`` rows, each
batch its own short transaction, at most ``MAX_BATCHES`` per table, so a backlog is
worked off over several passes without holding locks. The pass runs in a worker thread
(``run_in_threadpool``), never on the event loop. Several replicas may run it at once:
a row deleted by one is simply not counted by the other.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from prometheus_client import Counter
from starlette.concurrency import run_in_threadpool

from ...store import Database, DatabaseUnavailable
from ...store.models import utcnow
from ...store.repositories.api_keys import ApiKeyRepository
from ...store.repositories.authorization_codes import AuthorizationCodeRepository
from ...store.repositories.device_codes import DeviceCodeRepository
from ...store.repositories.pushed_requests import PushedRequestRepository
from ...store.repositories.refresh_tokens import RefreshTokenRepository
from ...store.repositories.revocations import RevocationRepository
from ...store.repositories.sessions import SessionRepository
from ...store.repositories.usage import UsageRepository
from ...store.repositories.users import ConsentRepository
from ..admin.clients import prune_unused_clients
from .logs import logger

if TYPE_CHECKING:
    from ..state import ServerState

__all__ = [
    "MAX_BATCHES",
    "PRUNED_TABLES",
    "PRUNE_BATCH",
    "Maintenance",
    "PruneReport",
    "maintenance",
    "prune_expired",
]

PRUNE_BATCH = 500
USAGE_RETENTION = timedelta(days=90)
MAX_BATCHES = 10
PRUNED_TABLES = ("authorization_codes", "device_codes", "refresh_tokens", "revoked_tokens",
                 "api_keys", "consents", "user_sessions", "pushed_authorization_requests",
                 "clients")

#: One batch of one table: (database, now, limit) -> rows pruned.
PruneStep = Callable[[Database, datetime, int], int]

_STEPS: dict[str, PruneStep] = {
    "authorization_codes": lambda db, now, n: AuthorizationCodeRepository(db).prune(now, n),
    "device_codes": lambda db, now, n: DeviceCodeRepository(db).prune(now, n),
    "refresh_tokens": lambda db, now, n: RefreshTokenRepository(db).prune(now, n),
    "revoked_tokens": lambda db, now, n: RevocationRepository(db).prune(now, n),
    "api_keys": lambda db, now, n: ApiKeyRepository(db).prune_rotated(now, n),
    "consents": lambda db, _now, n: ConsentRepository(db).prune_orphans(n),
    "user_sessions": lambda db, now, n: SessionRepository(db).prune(now, n),
    "pushed_authorization_requests":
        lambda db, now, n: PushedRequestRepository(db).prune(now, n),
    "usage_counts": lambda db, now, n: UsageRepository(db).prune(now - USAGE_RETENTION, n),
}


@dataclass(frozen=True, slots=True)
class PruneReport:
    """What one pruning pass did.

    :param pruned: rows pruned per table (every table of :data:`PRUNED_TABLES`).
    :param complete: False when a table hit the per-pass bound: more rows remain.
    """

    pruned: Mapping[str, int]
    complete: bool

    @property
    def total(self) -> int:
        """Rows pruned over every table."""
        return sum(self.pruned.values())


def _unused_clients(ttl_s: int | None) -> PruneStep:
    if ttl_s is None:
        return lambda _db, _now, _n: 0
    age = timedelta(seconds=ttl_s)
    return lambda db, now, n: prune_unused_clients(db, now - age, n)


def prune_expired(db: Database, *, now: datetime | None = None,
                  batch_size: int = PRUNE_BATCH, max_batches: int = MAX_BATCHES,
                  unused_client_ttl: int | None = None) -> PruneReport:
    """Prune every table once, in batches (blocking: call it from a worker thread).

    :param now: the clock to judge expiry by (the current time by default).
    :param unused_client_ttl: seconds after which an unused self-registered public
        client is deleted (None: none is).
    :param batch_size: rows per batch, each in its own transaction.
    :param max_batches: batches per table in this pass.
    """
    when = now or utcnow()
    pruned: dict[str, int] = {}
    complete = True
    steps = {**_STEPS, "clients": _unused_clients(unused_client_ttl)}
    for table in PRUNED_TABLES:
        step, total = steps[table], 0
        for _ in range(max_batches):
            done = step(db, when, batch_size)
            total += done
            if done < batch_size:
                break
        else:
            complete = False
        pruned[table] = total
    return PruneReport(pruned=pruned, complete=complete)


class Maintenance:
    """The periodic pass of one server process.

    :param state: the running server.
    :param interval: seconds between passes.
    """

    def __init__(self, state: ServerState, interval: float) -> None:
        self.state = state
        self.interval = interval
        counter = Counter("scopegate_pruned_rows", "Rows deleted by the maintenance pass",
                          ["table"], registry=state.metrics.registry)
        # Bound once, so every table shows (at 0) from the first scrape.
        self._pruned = {table: counter.labels(table) for table in PRUNED_TABLES}

    async def run_once(self) -> PruneReport | None:
        """Run one pass; a failing step is logged and does not stop the others.

        :returns: the pruning report, or None if pruning failed.
        """
        try:
            await run_in_threadpool(self.state.signing_keys.reload)
        except DatabaseUnavailable:
            pass  # the outage is logged once when it starts; the loaded keys stay
        except Exception:
            logger.exception("reloading signing keys failed; keeping the loaded keys")
        try:
            report: PruneReport | None = await run_in_threadpool(
                lambda: prune_expired(self.state.db, unused_client_ttl=self._unused_ttl()))
        except DatabaseUnavailable:
            report = None
        except Exception:
            logger.exception("pruning expired rows failed; the next pass retries")
            report = None
        self.state.denylist.forget_expired()
        if report is not None and report.total:
            for table, count in report.pruned.items():
                self._pruned[table].inc(count)
            logger.info("pruned expired rows", extra={
                "pruned": {t: n for t, n in report.pruned.items() if n},
                "complete": report.complete})
        return report

    def _unused_ttl(self) -> int:
        return self.state.settings.registration_unused_ttl

    async def run_forever(self) -> None:
        """Sleep ``interval``, run a pass, repeat (until cancelled)."""
        while True:
            await asyncio.sleep(self.interval)
            await self.run_once()


def maintenance(state: ServerState) -> Maintenance:
    """The :class:`Maintenance` of a running server (to run a pass now)."""
    found = state.maintenance
    if not isinstance(found, Maintenance):
        raise RuntimeError("the server's lifespan has not started")
    return found
