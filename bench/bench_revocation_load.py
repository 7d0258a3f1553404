"""Revocation under load: from a server publishing a revocation to a busy guard refusing it.

A guard (Starlette + ``GuardMiddleware``, Redis limiter and Redis events, one uvicorn
worker pinned to core 0) serves 32 keep-alive connections of cached tokens at full speed
from core 1. Meanwhile a probe, ``--n`` times: sends a fresh token once (200, now cached),
publishes its ``jti`` revocation on Redis as the server does, then sends it again on its
own connection until the guard answers 401. The delay is publish -> first 401, so it
includes the probe's own request time in the loaded guard (the ``probe request`` row).

Run: ``python bench/bench_revocation_load.py [--n 200] [--gap 20]`` (needs Redis at
``SCOPEGATE_TEST_REDIS_URL``, default ``redis://127.0.0.1:6379/0``).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

import jwt
from cryptography.hazmat.primitives.asymmetric import ec

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_guard import (
    AUDIENCE,
    KID,
    _Conn,
    _load,
    _pinned,
    _raw,
    _wait_port,
    free_port,
    start_issuer,
)

from scopegate.events import RedisChannel, events_prefix, revoked


def serve(port: int, issuer: str, redis_url: str) -> None:
    """Guard-process entry point."""
    import uvicorn
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    from scopegate.guard import AudienceMode, Guard, GuardConfig, RateLimit, requires
    from scopegate.guard.adapters.starlette import GuardMiddleware
    from scopegate.ratelimit import create_rate_limiter

    async def ok(request: Request) -> PlainTextResponse:
        return PlainTextResponse("ok")

    config = GuardConfig(issuer=issuer, audience=AUDIENCE, audience_mode=AudienceMode.ENFORCE,
                         redis_url=redis_url, rate_limit=RateLimit(100_000, 1.0))
    app = Starlette(routes=[Route("/r", requires("apps:read")(ok))],
                    middleware=[Middleware(GuardMiddleware, guard=Guard(
                        config, limiter=create_rate_limiter(redis_url, prefix="sgbench:")))])
    uvicorn.run(app, host="127.0.0.1", port=port, loop="uvloop", http="httptools",
                log_level="warning", access_log=False)


def mint(private: ec.EllipticCurvePrivateKey, issuer: str, jti: str) -> str:
    now = int(time.time())
    return jwt.encode({"iss": issuer, "sub": f"user-{jti}", "aud": AUDIENCE, "exp": now + 600,
                       "iat": now - 1, "jti": jti, "client_id": "bench", "scope": "apps:read"},
                      private, algorithm="ES256", headers={"typ": "at+jwt", "kid": KID})


async def probe(port: int, private: ec.EllipticCurvePrivateKey, issuer: str, redis_url: str,
                n: int, gap_s: float) -> tuple[list[float], list[float]]:
    """Return (publish -> first 401 delays, probe request times), in ms."""
    loop = asyncio.get_running_loop()
    conn = (await loop.create_connection(_Conn, "127.0.0.1", port))[1]
    channel = RedisChannel(redis_url, prefix=events_prefix(issuer))
    delays: list[float] = []
    requests: list[float] = []
    for _ in range(n):
        jti = uuid.uuid4().hex
        raw = _raw(mint(private, issuer, jti))
        assert await conn.request(raw) == 200, "a fresh token was refused"
        published = time.perf_counter()
        await channel.publish(revoked("jti", jti, time.time() + 600))
        while True:
            sent = time.perf_counter()
            status = await conn.request(raw)
            requests.append((time.perf_counter() - sent) * 1000)
            if status == 401:
                break
        delays.append((time.perf_counter() - published) * 1000)
        await asyncio.sleep(gap_s)
    await channel.aclose()
    return delays, requests


async def measure(port: int, private: ec.EllipticCurvePrivateKey, issuer: str,
                  redis_url: str, n: int, gap_s: float) -> tuple[list[float], list[float]]:
    load_raws = [_raw(mint(private, issuer, uuid.uuid4().hex)) for _ in range(64)]
    await _load(port, load_raws, 0.5, 32, False)  # warm: every load token cached
    load = asyncio.ensure_future(_load(port, load_raws, n * (gap_s + 0.02) + 30, 32, False))
    await asyncio.sleep(0.3)
    delays, requests = await probe(port, private, issuer, redis_url, n, gap_s)
    # The load is cut mid-request: its connections' pending replies are not errors.
    asyncio.get_running_loop().set_exception_handler(lambda loop, context: None)
    load.cancel()
    return delays, requests


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--gap", type=float, default=20.0, help="ms between revocations")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--issuer", help=argparse.SUPPRESS)
    args = parser.parse_args()
    redis_url = os.environ.get("SCOPEGATE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    if args.serve:
        serve(args.port, args.issuer, redis_url)
        return
    private = ec.generate_private_key(ec.SECP256R1())
    issuer = start_issuer(private)
    port = free_port()
    guard = subprocess.Popen([*_pinned(0), sys.executable, __file__, "--serve", "--port",
                              str(port), "--issuer", issuer],
                             env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    try:
        _wait_port(port)
        if (os.cpu_count() or 1) > 1:
            os.sched_setaffinity(0, {1})
        import uvloop

        delays, requests = uvloop.run(measure(port, private, issuer, redis_url, args.n,
                                                 args.gap / 1000))
    finally:
        guard.terminate()
        guard.wait(10)
    cuts, request_cuts = statistics.quantiles(delays, n=100), statistics.quantiles(requests, n=100)
    print(f"under load    n={len(delays)} p50 {cuts[49]:.2f} ms p99 {cuts[98]:.2f} ms "
          f"(max {max(delays):.2f} ms)")
    print(f"probe request p50 {request_cuts[49]:.2f} ms p99 {request_cuts[98]:.2f} ms "
          "(one guarded request on the loaded guard)")


if __name__ == "__main__":
    main()
