"""The token endpoint with DPoP on vs off: client_credentials tokens/s and server CPU.

Starts ``scopegate serve`` (1 worker, pinned to core 0 when ``taskset`` exists) and sends
the same client_credentials request with and without a ``DPoP`` header, in alternating
rounds. A proof is good once (its ``jti``), so every DPoP request carries its own, made
beforehand by the SDK's signer. Prints tokens/s and the server's CPU µs per token for each
and their ratio: what a proof check (parse, one ES256 verify, one replay-cache write) and
the ``cnf`` claim cost at the token endpoint.

Run: ``python bench/bench_token_dpop.py [--requests 3000] [--rounds 3] [--concurrency 16]``
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import tempfile
import time
from pathlib import Path

import orjson
from bench_token_endpoint import (
    SCOPEGATE,
    free_port,
    pinned,
    token_request,
    tree_cpu_seconds,
    wait_ready,
)

from scopegate.client._dpop import DPoPKey


async def _send_all(port: int, requests: list[bytes], concurrency: int) -> tuple[int, int]:
    """Send each request once over ``concurrency`` keep-alive connections; (ok, errors)."""
    queue = list(reversed(requests))
    ok = errors = 0

    async def worker() -> None:
        nonlocal ok, errors
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        while queue:
            writer.write(queue.pop())
            head = await reader.readuntil(b"\r\n\r\n")
            at = head.lower().find(b"content-length:")
            length = int(head[at + 15:head.find(b"\r\n", at)]) if at >= 0 else 0
            await reader.readexactly(length)
            ok, errors = (ok + 1, errors) if head.startswith(b"HTTP/1.1 200") else (ok,
                                                                                  errors + 1)
        writer.close()

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return ok, errors


def _with_proof(request: bytes, proof: str) -> bytes:
    head, _, body = request.partition(b"\r\n\r\n")
    return head + f"\r\nDPoP: {proof}".encode() + b"\r\n\r\n" + body


def _measure(port: int, pid: int, requests: list[bytes], concurrency: int) -> dict[str, float]:
    cpu = tree_cpu_seconds(pid)
    started = time.perf_counter()
    ok, errors = asyncio.run(_send_all(port, requests, concurrency))
    elapsed = time.perf_counter() - started
    cpu = tree_cpu_seconds(pid) - cpu
    return {"rate": ok / elapsed, "cpu_us": cpu / max(ok + errors, 1) * 1e6, "errors": errors}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000, help="per round and mode")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="sgbench-dpop-"))
    env = {**os.environ, "SCOPEGATE_DATABASE_URL": f"sqlite:///{tmp / 'bench.db'}"}
    created = subprocess.run(
        [SCOPEGATE, "clients", "create", "--name", "bench", "--grant", "client_credentials",
         "--scope", "api", "--json"], env=env, check=True, capture_output=True)
    creds = orjson.loads(created.stdout)
    port = free_port()
    proc = subprocess.Popen(pinned([SCOPEGATE, "serve", "--port", str(port)], "0"), env=env,
                            stderr=subprocess.DEVNULL)
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > 1:
        os.sched_setaffinity(0, {1})
    try:
        wait_ready(port, proc)
        plain = token_request(port, creds["client_id"], creds["client_secret"])
        url = f"http://127.0.0.1:{port}/oauth/token"
        key = DPoPKey.generate()
        _measure(port, proc.pid, [plain] * 200, args.concurrency)  # warm up
        best: dict[str, dict[str, float]] = {}
        for _ in range(args.rounds):
            dpop = [_with_proof(plain, key.proof("POST", url)) for _ in range(args.requests)]
            for mode, requests in (("bearer", [plain] * args.requests), ("dpop", dpop)):
                result = _measure(port, proc.pid, requests, args.concurrency)
                if mode not in best or result["rate"] > best[mode]["rate"]:
                    best[mode] = result
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    print(f"{'mode':16} {'tokens/s':>9} {'cpu µs/token':>13} {'errors':>7}")
    for mode, result in best.items():
        print(f"token endpoint {mode:6} {result['rate']:8.0f} {result['cpu_us']:13.0f} "
              f"{result['errors']:7.0f}")
    ratio = best["bearer"]["cpu_us"] / best["dpop"]["cpu_us"]
    extra = best["dpop"]["cpu_us"] - best["bearer"]["cpu_us"]
    print(f"figure  DPoP x bearer (server CPU per token)  {ratio:.2f}  (+{extra:.0f} µs/token)")


if __name__ == "__main__":
    main()
