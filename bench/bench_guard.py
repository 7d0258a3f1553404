"""Benchmark the guard: requests/s of guarded vs identical unguarded routes on one worker.

Run ``python bench/bench_guard.py [--seconds S] [--concurrency C] [--redis-url URL]``.
The bench starts everything itself: a JWKS stand-in (a thread), and for each case one
uvicorn server process (uvloop + httptools, one worker) that it loads from this process
with a lean keep-alive HTTP/1.1 client at bounded concurrency for a bounded time.

R is a bare Starlette route. Cases: Starlette guarded (cache hit, memory limiter), the
cold path (every request a new ES256 token), FastAPI unguarded vs guarded (cache hit),
and both guarded apps on the Redis limiter (with Redis round trips per request).
``main()`` returns the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

__all__ = ["main"]

AUDIENCE = "https://api.scopegate.example"
KID = "bench"


# -- the apps under test (built in the server process) ----------------------------------


def build_app(case: str, issuer: str, redis_url: str | None) -> Any:
    """Return the ASGI app of one case."""
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    from scopegate.guard import Guard, GuardConfig, RateLimit, requires
    from scopegate.ratelimit import create_rate_limiter

    def make_guard() -> Guard:
        url = redis_url if case.endswith("-redis") else None
        limiter = create_rate_limiter(url, prefix=f"sgbench:{uuid.uuid4().hex[:8]}:")
        # A budget no bench run reaches: we measure the limiter's cost, not its refusals.
        config = GuardConfig(issuer=issuer, audience=AUDIENCE, audience_mode="enforce",
                             rate_limit=RateLimit(100_000, 60.0), cache_max_entries=100_000)
        return Guard(config, limiter=limiter)

    async def bare(request: Request) -> PlainTextResponse:
        return PlainTextResponse("ok")

    if case == "starlette":
        return Starlette(routes=[Route("/r", bare)])
    if case.startswith("starlette-guarded"):
        guard = make_guard()
        return Starlette(routes=[Route("/r", requires("apps:read")(bare))],
                         middleware=[Middleware(_middleware(), guard=guard)])

    from fastapi import Depends, FastAPI

    from scopegate.guard import Caller
    from scopegate.guard.adapters.fastapi import RequireScopes, install

    api = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    if case == "fastapi":
        @api.get("/r")
        async def unguarded() -> PlainTextResponse:
            return PlainTextResponse("ok")
        return api
    guard = make_guard()
    install(api, guard)
    if case.startswith("fastapi-guarded-mw"):
        # Deny-by-default middleware + the @requires decorator: no dependency to solve.
        api.add_middleware(_middleware(), guard=guard)
        @api.get("/r")
        @requires("apps:read")
        async def declared() -> PlainTextResponse:
            return PlainTextResponse("ok")
        return api
    need_read = Depends(RequireScopes("apps:read", guard=guard))

    @api.get("/r")
    async def guarded(caller: Caller = need_read) -> PlainTextResponse:
        return PlainTextResponse("ok")
    return api


def _middleware() -> Any:
    from scopegate.guard.adapters.starlette import GuardMiddleware

    return GuardMiddleware


def serve(case: str, port: int, issuer: str, redis_url: str | None) -> None:
    """Server-process entry point."""
    import uvicorn

    uvicorn.run(build_app(case, issuer, redis_url), host="127.0.0.1", port=port, loop="uvloop",
                http="httptools", workers=1, log_level="warning", access_log=False,
                lifespan="off")


# -- the issuer stand-in ----------------------------------------------------------------


def start_issuer(private: ec.EllipticCurvePrivateKey) -> str:
    """Serve JWKS + metadata from a thread; return the issuer URL."""
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    jwk = json.loads(ECAlgorithm.to_jwk(private.public_key()))
    jwk.update(kid=KID, alg="ES256", use="sig")

    async def metadata(request: Request) -> JSONResponse:
        return JSONResponse({"issuer": issuer, "jwks_uri": f"{issuer}/jwks.json"})

    async def jwks(request: Request) -> JSONResponse:
        return JSONResponse({"keys": [jwk]})

    app = Starlette(routes=[Route("/.well-known/oauth-authorization-server", metadata),
                            Route("/jwks.json", jwks)])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="off"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.01)
    return issuer


def mint(private: ec.EllipticCurvePrivateKey, issuer: str, count: int) -> list[str]:
    now = int(time.time())
    return [
        jwt.encode({"iss": issuer, "sub": f"user-{i}", "aud": AUDIENCE, "exp": now + 3600,
                    "iat": now, "jti": uuid.uuid4().hex, "client_id": "bench",
                    "scope": "apps:read", "subject_type": "user"},
                   private, algorithm="ES256", headers={"typ": "at+jwt", "kid": KID})
        for i in range(count)
    ]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- the load generator -----------------------------------------------------------------


class _Conn(asyncio.Protocol):
    """One keep-alive connection: send a request, read one full response, repeat."""

    def __init__(self) -> None:
        self.buffer = b""
        self.waiter: asyncio.Future[int] | None = None
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's TCPTransport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        head_end = self.buffer.find(b"\r\n\r\n")
        if head_end < 0 or self.waiter is None:
            return
        head = self.buffer[:head_end].lower()
        start = head.find(b"content-length:")
        length = int(head[start + 15:head.find(b"\r\n", start)]) if start >= 0 else 0
        if len(self.buffer) >= head_end + 4 + length:
            status = int(self.buffer[9:12])
            self.buffer = self.buffer[head_end + 4 + length:]
            self.waiter.set_result(status)

    async def request(self, raw: bytes) -> int:
        self.waiter = asyncio.get_running_loop().create_future()
        assert self.transport is not None
        self.transport.write(raw)
        return await self.waiter


def _raw(token: str | None) -> bytes:
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    return (f"GET /r HTTP/1.1\r\nHost: bench\r\nUser-Agent: bench/1\r\n{auth}\r\n").encode()


async def _load(port: int, raws: list[bytes], seconds: float, concurrency: int,
                fixed: bool) -> tuple[int, float, int]:
    """Send requests; ``fixed`` sends each raw request exactly once, else cycle for ``seconds``.

    Returns (responses, elapsed seconds, non-200 count).
    """
    loop = asyncio.get_running_loop()
    conns = [(await loop.create_connection(_Conn, "127.0.0.1", port))[1]
             for _ in range(concurrency)]
    done = errors = 0
    next_index = 0
    started = time.perf_counter()
    deadline = started + seconds

    async def worker(conn: _Conn) -> None:
        nonlocal done, errors, next_index
        while True:
            if fixed:
                if next_index >= len(raws):
                    return
            elif time.perf_counter() >= deadline:
                return
            raw = raws[next_index % len(raws)]
            next_index += 1
            status = await conn.request(raw)
            done += 1
            errors += status != 200

    await asyncio.gather(*(worker(c) for c in conns))
    elapsed = time.perf_counter() - started
    for conn in conns:
        assert conn.transport is not None
        conn.transport.close()
    return done, elapsed, errors


def run_case(case: str, issuer: str, raws: list[bytes], *, seconds: float, concurrency: int,
             redis_url: str | None, fixed: bool = False,
             warmup: list[bytes] | None = None) -> dict[str, Any]:
    """Start the case's server process, warm it up, load it, stop it."""
    port = free_port()
    proc = subprocess.Popen(
        [*_pinned(1), sys.executable, __file__, "--serve", case, "--port", str(port),
         "--issuer", issuer, *(["--redis-url", redis_url] if redis_url else [])],
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    try:
        _wait_port(port)
        import uvloop

        uvloop.run(_load(port, warmup or raws, 0.5, concurrency, False))
        redis_before = _evalsha_calls(redis_url) if case.endswith("-redis") else 0
        done, elapsed, errors = uvloop.run(_load(port, raws, seconds, concurrency, fixed))
        result: dict[str, Any] = {"case": case, "requests": done, "rps": done / elapsed,
                                  "errors": errors}
        if case.endswith("-redis"):
            result["redis_round_trips_per_request"] = (
                (_evalsha_calls(redis_url) - redis_before) / max(done, 1))
        return result
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _pinned(cpu: int) -> list[str]:
    """Pin the server to one CPU (the load generator takes the other) when taskset exists."""
    if (os.cpu_count() or 1) > 1 and os.path.exists("/usr/bin/taskset"):
        return ["/usr/bin/taskset", "-c", str(cpu)]
    return []


def _wait_port(port: int) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"server on port {port} did not start")


def _evalsha_calls(redis_url: str | None) -> int:
    import redis

    client = redis.Redis.from_url(redis_url or "")
    try:
        stats = client.info("commandstats")
    finally:
        client.close()
    return sum(int(v["calls"]) for k, v in stats.items() if k in ("cmdstat_evalsha",
                                                                  "cmdstat_eval"))


def _redis_available(redis_url: str) -> bool:
    import redis

    try:
        redis.Redis.from_url(redis_url, socket_timeout=0.5).ping()
        return True
    except Exception:  # any failure means "skip the Redis cases"
        return False


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    """Run every case and print requests/s and the ratios against the goals."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--cold-requests", type=int, default=6000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--redis-url", default=os.environ.get("SCOPEGATE_TEST_REDIS_URL",
                                                              "redis://127.0.0.1:6379/0"))
    parser.add_argument("--serve")
    parser.add_argument("--port", type=int)
    parser.add_argument("--issuer")
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.serve, args.port, args.issuer, args.redis_url)
        return []

    private = ec.generate_private_key(ec.SECP256R1())
    issuer = start_issuer(private)
    hot = [_raw(mint(private, issuer, 1)[0])]
    redis_url = args.redis_url if _redis_available(args.redis_url) else None
    common = {"seconds": args.seconds, "concurrency": args.concurrency, "redis_url": redis_url}

    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > 1:
        os.sched_setaffinity(0, {0})  # the load generator; servers run on CPU 1
    cases = ["starlette", "starlette-guarded", "fastapi", "fastapi-guarded",
             "fastapi-guarded-mw"]
    if redis_url:
        cases += ["starlette-guarded-redis", "fastapi-guarded-redis"]
    else:
        print(f"(Redis at {args.redis_url} unreachable: Redis cases skipped)")
    # Interleaved rounds, best of each: a shared 2-core box is noisy, ratios need the same
    # conditions for both sides.
    results: dict[str, dict[str, Any]] = {}
    for _ in range(args.rounds):
        for case in cases:
            raws = hot  # identical requests (same Authorization header) for every case
            res = run_case(case, issuer, raws, **common)
            if case not in results or res["rps"] > results[case]["rps"]:
                results[case] = res
        cold = [_raw(t) for t in mint(private, issuer, args.cold_requests)]
        res = run_case("starlette-guarded", issuer, cold, fixed=True, warmup=hot, **common)
        res["case"] = "starlette-guarded-cold"
        if "starlette-guarded-cold" not in results or (
                res["rps"] > results["starlette-guarded-cold"]["rps"]):
            results["starlette-guarded-cold"] = res

    r = results["starlette"]["rps"]
    print(f"{'case':28} {'req/s':>9} {'x R':>6}  notes   (best of {args.rounds} rounds)")
    for name, res in results.items():
        note = f"errors={res['errors']}" if res["errors"] else ""
        if "redis_round_trips_per_request" in res:
            note += f" redis round trips/request={res['redis_round_trips_per_request']:.2f}"
        print(f"{name:28} {res['rps']:9.0f} {res['rps'] / r:6.2f}  {note}")
    fa = results["fastapi"]["rps"]
    goals = [
        ("cache hit, Starlette >= 0.60 R", results["starlette-guarded"]["rps"] / r, 0.60),
        ("FastAPI dependency >= 0.85x unguarded", results["fastapi-guarded"]["rps"] / fa, 0.85),
        ("FastAPI middleware >= 0.85x unguarded",
         results["fastapi-guarded-mw"]["rps"] / fa, 0.85),
        ("cold path >= 0.19 R", results["starlette-guarded-cold"]["rps"] / r, 0.19),
    ]
    if redis_url:
        goals += [
            ("Starlette + Redis >= 0.60x unguarded",
             results["starlette-guarded-redis"]["rps"] / r, 0.60),
            ("FastAPI + Redis >= 0.60x unguarded",
             results["fastapi-guarded-redis"]["rps"] / fa, 0.60),
        ]
    for label, ratio, goal in goals:
        print(f"{label:40} {ratio:5.2f}  {'ok' if ratio >= goal else 'BELOW GOAL'}")
    return list(results.values())


if __name__ == "__main__":
    main()
