"""Usage reports to the authorization server's console, and the audience mode it answers.

Each request that passes the guard adds one to an in-memory count keyed by (client, API
key, ``User-Agent``, audience present, scopes the route needed): a dict increment, no I/O.
Every ``usage_report_s`` the counts are sent, aggregated, to ``POST <issuer>/api/v1/usage``
with the guard's client credentials; the answer names the audience mode an operator chose
for this resource, which the authenticator then applies. Memory is bounded (``MAX_KEYS``
combinations; past that, requests are counted as dropped). When the server cannot be
reached the batch is dropped and counted, never retried forever: the guard keeps serving.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from typing import Any

import httpx
from prometheus_client import Counter

from scopegate.events import CHANGED, Event, audience_notice

from .audience import sdk_product_version
from .config import AudienceMode, GuardConfig
from .context import AuthContext

__all__ = ["MAX_KEYS", "REPORT_PATH", "UsageReporter", "usage_reporter_for"]

log = logging.getLogger("scopegate.guard")

REPORT_PATH = "/api/v1/usage"
MAX_KEYS = 5_000
MAX_REPORT_BYTES = 12_000  # under the server's default body limit (16 KiB)
DROPPED = Counter("scopegate_guard_usage_dropped",
                  "Requests the guard could not report to the console (memory bound or "
                  "server unreachable).")

_Key = tuple[str, str, str, bool, frozenset[str]]


class UsageReporter:
    """Counts requests and sends them every ``config.usage_report_s`` seconds.

    :param on_mode: called with the operator's mode for this resource (None: none chosen,
        the configured mode applies) after every answered report.
    """

    def __init__(self, config: GuardConfig, http: httpx.AsyncClient,
                 on_mode: Callable[[AudienceMode | None], None]) -> None:
        assert config.usage_report_s and config.client_id and config.client_secret
        self.config, self.http, self.on_mode = config, http, on_mode
        self.interval_s = config.usage_report_s
        self.url = config.issuer + REPORT_PATH
        self.counts: dict[_Key, int] = {}
        self.dropped = 0
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()

    def record(self, auth: AuthContext, user_agent: str | None,
               required: frozenset[str]) -> None:
        """Count one request that passed (the hot path: one dict update)."""
        key = (auth.client_id, auth.claims.get("key_id") or "", user_agent or "",
               auth.audience_ok, required)
        counts = self.counts
        seen = counts.get(key)
        if seen is not None:
            counts[key] = seen + 1
        elif len(counts) < MAX_KEYS:
            counts[key] = 1
        else:
            self.dropped += 1
            DROPPED.inc()
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    def report_now(self) -> None:
        """Send at once (an operator changed this resource's mode: learn it now)."""
        self._wake.set()

    async def flush(self) -> None:
        """Send what was counted since the last report (and learn the mode)."""
        counts, self.counts = self.counts, {}
        dropped, self.dropped = self.dropped, 0
        batches = _batches(_rows(counts))
        for index, batch in enumerate(batches):
            if not await self._send(batch, dropped):
                lost = sum(row["count"] for rest in batches[index:] for row in rest) + dropped
                self.dropped += lost
                DROPPED.inc(lost)
                return
            dropped = 0

    async def _send(self, rows: list[dict[str, Any]], dropped: int) -> bool:
        body = {"resource": self.config.audience, "counts": rows, "dropped": dropped}
        try:
            reply = await self.http.post(
                self.url, json=body, timeout=self.config.http_timeout_s,
                auth=(self.config.client_id or "", self.config.client_secret or ""))
        except httpx.HTTPError as exc:
            log.warning("usage report not sent", extra={"error": type(exc).__name__})
            return False
        if reply.status_code != 200:
            log.warning("usage report refused", extra={"status": reply.status_code,
                                                       "body": reply.text[:200]})
            return False
        mode = reply.json().get("audience_mode")
        self.on_mode(AudienceMode(mode) if mode in set(AudienceMode) else None)
        return True

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.interval_s)
            self._wake.clear()
            try:
                await self.flush()
            except Exception:  # never let reporting stop the guard; say it once per failure
                log.exception("usage report failed")

    async def aclose(self) -> None:
        """Send what is left, then stop."""
        if self._task is not None:
            self._task.cancel()
            self._task = None
            if self.counts:
                await self.flush()


def _rows(counts: dict[_Key, int]) -> list[dict[str, Any]]:
    """Aggregate by SDK product and version (many User-Agent strings map to one)."""
    merged: dict[tuple[str, str, str, str, bool, tuple[str, ...]], int] = {}
    for (client_id, key_id, user_agent, audience_ok, required), n in counts.items():
        sdk, version = sdk_product_version(user_agent)
        key = (client_id, key_id, sdk, version, audience_ok, tuple(sorted(required)))
        merged[key] = merged.get(key, 0) + n
    return [{"client_id": c, "key_id": k, "sdk": s, "sdk_version": v, "audience": a,
             "scopes": list(scopes), "count": n}
            for (c, k, s, v, a, scopes), n in merged.items()]


def _batches(rows: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Rows in reports of at most :data:`MAX_REPORT_BYTES` (at least one report: an empty
    one still asks for the mode)."""
    batches: list[list[dict[str, Any]]] = [[]]
    size = 0
    for row in rows:
        row_size = len(json.dumps(row)) + 2
        if batches[-1] and size + row_size > MAX_REPORT_BYTES:
            batches.append([])
            size = 0
        batches[-1].append(row)
        size += row_size
    return batches


def usage_reporter_for(config: GuardConfig, authenticator: Any) -> UsageReporter | None:
    """The guard's reporter (None unless ``usage_report_s`` is set): it applies the mode the
    server answers, and reports at once when a Redis notice says an operator changed it."""
    if not config.usage_report_s:
        return None

    def follow(mode: AudienceMode | None) -> None:
        authenticator.audience_mode = mode or config.audience_mode

    reporter = UsageReporter(config, authenticator.http, follow)
    notice = audience_notice(config.audience or "")
    watcher = authenticator.revocation.watcher
    if watcher is not None:
        earlier = watcher.on_event

        def on_event(event: Event) -> None:
            if earlier is not None:
                earlier(event)
            if event.kind == CHANGED and event.value == notice:
                reporter.report_now()

        watcher.on_event = on_event
    return reporter
