"""Usage reporting at the guard (issue 15): what counting costs and what a report weighs.

Rows:
- ``record``: µs per :meth:`UsageReporter.record` of a request whose combination is already
  counted (the steady state on a cache hit: one dict update);
- ``report row``: bytes of JSON per aggregated row sent to ``POST /api/v1/usage``;
- ``memory at bound``: bytes held by the counts at :data:`MAX_KEYS` combinations (past it,
  requests are counted as dropped, so this is the most it ever holds).

The end-to-end cost per guarded request is ``bench_guard.py --cases
starlette-guarded,starlette-guarded-usage`` (same route, with and without counting).
Run: ``python bench/bench_usage.py``.
"""

from __future__ import annotations

import asyncio
import json
import time
import tracemalloc
from typing import Any

import httpx

from scopegate.guard import AudienceMode, GuardConfig
from scopegate.guard.context import AuthContext
from scopegate.guard.usage import MAX_KEYS, UsageReporter, _rows

CONFIG = GuardConfig(issuer="https://auth.example", audience="https://api.example",
                     client_id="guard", client_secret="secret", usage_report_s=3600)
NEEDED = frozenset({"apps:read"})


def _auth(client_id: str) -> AuthContext:
    return AuthContext(token_hash="h", kind="jwt", claims={"sub": "u"},  # type: ignore[arg-type]
                       subject="u", client_id=client_id, subject_type="user",
                       scopes=NEEDED, audience_ok=True, expires_at=0, cached_until=0)


def _reporter() -> UsageReporter:
    def ignore(mode: AudienceMode | None) -> None:
        return None

    reporter = UsageReporter(CONFIG, httpx.AsyncClient(), ignore)
    reporter._task = asyncio.Future()  # no background sender in a bench  # type: ignore[assignment]
    return reporter


def record_us(n: int = 300_000) -> float:
    reporter, auth = _reporter(), _auth("sgc_client")
    agent, record = "acme-sdk/2.1.0 httpx/0.28", reporter.record
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(n):
            record(auth, agent, NEEDED)
        best = min(best, (time.perf_counter() - start) / n * 1e6)
    return best


def report_figures() -> tuple[float, int]:
    reporter = _reporter()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for index in range(MAX_KEYS):
        reporter.record(_auth(f"sgc_{index:020d}"), f"acme-sdk/{index % 50}.0.0", NEEDED)
    held = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    rows: list[dict[str, Any]] = _rows(reporter.counts)
    per_row = len(json.dumps(rows)) / len(rows)
    return per_row, held


async def _main() -> None:
    print(f"record        {record_us():.3f} µs")
    per_row, held = report_figures()
    print(f"report row    {per_row:.0f} bytes")
    print(f"memory at bound  {held / 1e6:.2f} MB for {MAX_KEYS} combinations "
          f"({held / MAX_KEYS:.0f} bytes each)")


if __name__ == "__main__":
    asyncio.run(_main())
