"""Load-test ``POST /oauth/token`` (client_credentials) against a bare Starlette route R.

Starts, on loopback and on free ports: ``scopegate serve`` with 1 worker and with 2
workers, and R = a bare Starlette route returning a small JSON body on uvicorn (uvloop +
httptools, 1 worker). A raw-socket asyncio load generator (uvloop, keep-alive, bounded
concurrency) drives them in alternating rounds. With ``taskset`` the servers share core 0
and the load generator runs on core 1 (2 workers use every core).

Prints tokens/s, R req/s, their ratio, p50/p99 latency and the error count, and for each
server its own CPU time per request (user + system of its process tree, from ``/proc``) and
how busy it was during the load. On a shared machine req/s moves with other load (another
process taking the server's core); CPU per request barely does, so the goal line also
prints the ratio of CPU per request (R's over the token endpoint's) as a cross-check.
Goal: 1 worker >= 0.33 R, p99 < 15 ms, 0 errors.

Run: ``python bench/bench_token_endpoint.py [--seconds 4] [--rounds 3] [--concurrency 32]``
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import orjson

PY = sys.executable
SCOPEGATE = str(Path(PY).with_name("scopegate"))
BARE_APP = """
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route
async def hello(request):
    return JSONResponse({"ok": True, "service": "bare"})
app = Starlette(routes=[Route("/", hello, methods=["GET", "POST"])])
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pinned(cmd: list[str], cpus: str | None) -> list[str]:
    return ["taskset", "-c", cpus, *cmd] if cpus and shutil.which("taskset") else cmd


def wait_ready(port: int, proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server on {port} exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"server on {port} did not start")


def tree_cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of ``pid`` and its descendants, from /proc (0 elsewhere)."""
    parents: dict[int, int] = {}
    cpu: dict[int, float] = {}
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        parents[int(entry.name)] = int(fields[1])
        cpu[int(entry.name)] = (int(fields[11]) + int(fields[12])) / tick
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        total += cpu.get(current, 0.0)
        todo += [child for child, parent in parents.items() if parent == current]
    return total


@dataclass
class Result:
    ok: int = 0
    errors: int = 0
    latencies: list[float] = field(default_factory=list)
    elapsed: float = 0.0
    cpu: float = 0.0

    def cpu_us(self) -> float:
        """Server CPU µs per answered request."""
        return self.cpu / max(self.ok + self.errors, 1) * 1e6

    def busy(self) -> float:
        """Server CPU seconds per wall-clock second of load (1.0 = one core saturated)."""
        return self.cpu / self.elapsed if self.elapsed else 0.0

    def rate(self) -> float:
        return self.ok / self.elapsed if self.elapsed else 0.0

    def pct(self, p: float) -> float:
        if not self.latencies:
            return float("nan")
        data = sorted(self.latencies)
        return data[min(len(data) - 1, int(p * len(data)))] * 1000


class _Conn(asyncio.Protocol):
    """One keep-alive connection sending the same request back to back (cheap parsing,
    so the load generator is not the bottleneck)."""

    def __init__(self, request: bytes, stop: float, result: Result,
                 done: asyncio.Future[None]) -> None:
        self.request, self.stop, self.result, self.done = request, stop, result, done
        self.buffer = b""
        self.sent = 0.0
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is not a subclass
        self._send()

    def _send(self) -> None:
        assert self.transport is not None
        self.sent = time.perf_counter()
        if self.sent >= self.stop:
            self.transport.close()
            return
        self.transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return
        head = self.buffer[:end]
        at = head.lower().find(b"content-length:")
        length = int(head[at + 15:head.find(b"\r\n", at) if head.find(b"\r\n", at) > 0
                          else None]) if at >= 0 else 0
        if len(self.buffer) < end + 4 + length:
            return
        self.buffer = self.buffer[end + 4 + length:]
        self.result.latencies.append(time.perf_counter() - self.sent)
        if head.startswith(b"HTTP/1.1 200"):
            self.result.ok += 1
        else:
            self.result.errors += 1
        self._send()

    def connection_lost(self, exc: Exception | None) -> None:
        if exc is not None or time.perf_counter() < self.stop:
            self.result.errors += 1
        if not self.done.done():
            self.done.set_result(None)


async def drive(port: int, request: bytes, seconds: float, concurrency: int) -> Result:
    result = Result()
    loop = asyncio.get_running_loop()
    start = time.perf_counter()
    stop = start + seconds
    waits = []
    for _ in range(concurrency):
        done: asyncio.Future[None] = loop.create_future()
        await loop.create_connection(lambda d=done: _Conn(request, stop, result, d),
                                     "127.0.0.1", port)
        waits.append(done)
    await asyncio.gather(*waits)
    result.elapsed = time.perf_counter() - start
    return result


def run_load(port: int, request: bytes, seconds: float, concurrency: int) -> Result:
    try:
        import uvloop

        return uvloop.run(drive(port, request, seconds, concurrency))
    except ImportError:
        return asyncio.run(drive(port, request, seconds, concurrency))


def token_request(port: int, client_id: str, secret: str) -> bytes:
    auth = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    body = b"grant_type=client_credentials&scope=api"
    return (f"POST /oauth/token HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Authorization: Basic {auth}\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode() + body


def bare_request(port: int) -> bytes:
    return f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=4.0, help="per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="sgbench-"))
    env = {**os.environ, "SCOPEGATE_DATABASE_URL": f"sqlite:///{tmp / 'bench.db'}"}
    created = subprocess.run(
        [SCOPEGATE, "clients", "create", "--name", "bench", "--grant", "client_credentials",
         "--scope", "api", "--json"], env=env, check=True, capture_output=True)
    creds = orjson.loads(created.stdout)
    have_taskset = shutil.which("taskset") is not None and (os.cpu_count() or 1) >= 2
    server_cpu, load_cpu = ("0", "1") if have_taskset else (None, None)
    if load_cpu:
        os.sched_setaffinity(0, {int(load_cpu)})

    r_port = free_port()
    bare_file = tmp / "bare_app.py"
    bare_file.write_text(BARE_APP)
    procs: list[subprocess.Popen[bytes]] = []
    try:
        r_proc = subprocess.Popen(pinned(
            [PY, "-m", "uvicorn", "bare_app:app", "--port", str(r_port), "--loop", "uvloop",
             "--http", "httptools", "--no-access-log", "--log-level", "warning",
             "--app-dir", str(tmp)], server_cpu), env=env)
        procs.append(r_proc)
        wait_ready(r_port, r_proc)
        servers: dict[int, tuple[int, subprocess.Popen[bytes]]] = {}
        for workers in (1, 2):
            port = free_port()
            cpus = server_cpu if workers == 1 else None
            proc = subprocess.Popen(pinned(
                [SCOPEGATE, "serve", "--port", str(port), "--workers", str(workers)], cpus),
                env=env, stderr=subprocess.DEVNULL)
            procs.append(proc)
            wait_ready(port, proc)
            servers[workers] = (port, proc)
        time.sleep(1.0)  # let 2-worker children come up
        # Warm up every server (client cache, catalog parse cache).
        for port, _ in servers.values():
            run_load(port, token_request(port, creds["client_id"], creds["client_secret"]),
                     0.5, args.concurrency)
        run_load(r_port, bare_request(r_port), 0.5, args.concurrency)

        totals: dict[str, Result] = {"R": Result(), "1w": Result(), "2w": Result()}
        for _ in range(args.rounds):
            plan = [("R", r_port, r_proc.pid, bare_request(r_port))]
            for workers, (port, proc) in servers.items():
                plan.append((f"{workers}w", port, proc.pid,
                             token_request(port, creds["client_id"], creds["client_secret"])))
            for name, port, pid, request in plan:
                cpu_before = tree_cpu_seconds(pid)
                res = run_load(port, request, args.seconds, args.concurrency)
                total = totals[name]
                total.cpu += tree_cpu_seconds(pid) - cpu_before
                total.ok += res.ok
                total.errors += res.errors
                total.latencies += res.latencies
                total.elapsed += res.elapsed
        r_rate = totals["R"].rate()
        print(f"concurrency {args.concurrency}, {args.rounds} rounds x {args.seconds:.0f} s, "
              f"taskset {'server cpu0 / load cpu1' if have_taskset else 'off'}")
        print(f"{'target':28} {'req/s':>9} {'ratio':>6} {'p50 ms':>7} {'p99 ms':>7} "
              f"{'errors':>6} {'cpu µs/req':>10} {'busy':>5}")
        labels = {"R": "R (bare Starlette, 1 worker)", "1w": "token endpoint, 1 worker",
                  "2w": "token endpoint, 2 workers"}
        for key, label in labels.items():
            res = totals[key]
            print(f"{label:28} {res.rate():9.0f} {res.rate() / r_rate:6.2f} "
                  f"{res.pct(0.50):7.2f} {res.pct(0.99):7.2f} {res.errors:6d} "
                  f"{res.cpu_us():10.1f} {res.busy():5.0%}")
        one = totals["1w"]
        cpu_ratio = totals["R"].cpu_us() / one.cpu_us() if one.cpu_us() else 0.0
        print(f"1 worker by server CPU per request: {cpu_ratio:.2f} R "
              f"({one.cpu_us():.1f} µs vs R's {totals['R'].cpu_us():.1f} µs; "
              f"servers {min(one.busy(), totals['R'].busy()):.0%}+ busy)")
        verdict = (one.rate() >= 0.33 * r_rate and one.pct(0.99) < 15 and one.errors == 0)
        print(f"goal (1 worker >= 0.33 R, p99 < 15 ms, 0 errors): "
              f"{'met' if verdict else 'NOT met'}")
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
