"""Scale figures (issue 14): the token endpoint with 10,000 active clients, and 2 workers vs 1.

``clients``: ``POST /oauth/token`` (client_credentials) on ``scopegate serve`` (1 worker)
with every request from one client, then with requests spread over 10,000 clients (each
connection walks the 10,000 in its own order), on SQLite and on PostgreSQL. The clients are
one registered with the CLI and 9,999 copies of its row (same secret hash, new ids), so every
request passes the same secret check. Goal: 10,000 clients >= 0.9x one client.

``workers``: the same endpoint on PostgreSQL with ``SCOPEGATE_REDIS_URL`` set, 1 worker vs 2.

How it is measured on a 2-core machine: with ``taskset`` a 1-worker server runs on core 0
and the load generator (from bench_token_endpoint: raw asyncio protocol, uvloop, keep-alive,
32 connections) on core 1. The req/s of 2 workers is then bounded by the load generator
sharing a core with them, so the ratio is printed both from req/s and from the server's
CPU µs per request (user + system of the process tree, from /proc): 2 workers that scale
keep CPU per request flat. For the clients goal, the ratio of CPU per request is the figure
(req/s also printed).

Run: ``python bench/bench_scale.py [--seconds 4] [--rounds 2] [--cases clients,workers]``
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_token_endpoint import (
    SCOPEGATE,
    Result,
    _Conn,
    free_port,
    pinned,
    token_request,
    tree_cpu_seconds,
    wait_ready,
)

ACTIVE_CLIENTS = 10_000
POSTGRES_URL = os.environ.get("SCOPEGATE_BENCH_POSTGRES_URL",
                              "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("SCOPEGATE_BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")


class _Cursor:
    """Where the next request comes from: shared by every connection of a run, and kept
    across runs, so a walk over 10,000 clients is not restarted by each round."""

    def __init__(self, requests: list[bytes]) -> None:
        self.requests, self.index = requests, 0

    def next(self) -> bytes:
        request = self.requests[self.index]
        self.index = (self.index + 1) % len(self.requests)
        return request


class _Rotating(_Conn):
    """A keep-alive connection that sends the cursor's next request each time; with
    ``until`` it closes once that many requests were taken in all (a warm-up sweep)."""

    def __init__(self, cursor: _Cursor, stop: float, result: Result,
                 done: asyncio.Future[None], until: int | None) -> None:
        super().__init__(cursor.requests[0], stop, result, done)
        self.cursor, self.until = cursor, until

    def _send(self) -> None:
        if self.until is not None and self.result.ok + self.result.errors >= self.until:
            self.stop = 0.0  # the sweep is complete: close this connection
        self.request = self.cursor.next()
        super()._send()


async def _drive(port: int, cursor: _Cursor, seconds: float, concurrency: int,
                 until: int | None) -> Result:
    result = Result()
    loop = asyncio.get_running_loop()
    start = time.perf_counter()
    waits = []
    for _ in range(concurrency):
        done: asyncio.Future[None] = loop.create_future()
        await loop.create_connection(
            lambda d=done: _Rotating(cursor, start + seconds, result, d, until),
            "127.0.0.1", port)
        waits.append(done)
    await asyncio.gather(*waits)
    result.elapsed = time.perf_counter() - start
    return result


def load(port: int, cursor: _Cursor, seconds: float, pid: int,
         until: int | None = None) -> Result:
    import uvloop

    before = tree_cpu_seconds(pid)
    res = uvloop.run(_drive(port, cursor, seconds, 32, until))
    res.cpu = tree_cpu_seconds(pid) - before
    return res


def _reachable(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1.0):
            return True
    except OSError:
        return False


def make_database(backend: str, tmp: Path) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp / 'scale.db'}"
    import sqlalchemy as sa

    name = f"sgbench_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return POSTGRES_URL.rsplit("/", 1)[0] + "/" + name


def drop_database(url: str) -> None:
    if not url.startswith("postgresql"):
        return
    import sqlalchemy as sa

    admin = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)'))
    admin.dispose()


def register_clients(env: dict[str, str], count: int) -> tuple[list[str], str]:
    """One client from the CLI, then ``count - 1`` copies of its row; ids and the secret."""
    import sqlalchemy as sa

    subprocess.run([SCOPEGATE, "db", "upgrade"], env=env, check=True, capture_output=True)
    made = orjson.loads(subprocess.run(
        [SCOPEGATE, "clients", "create", "--name", "scale", "--scope", "api", "--json"],
        env=env, check=True, capture_output=True).stdout)
    engine = sa.create_engine(env["SCOPEGATE_DATABASE_URL"])
    table = sa.Table("clients", sa.MetaData(), autoload_with=engine)
    with engine.begin() as conn:
        row = dict(conn.execute(sa.select(table).where(
            table.c.client_id == made["client_id"])).mappings().one())
        copies = [{**row, "client_id": f"sgc_scale{n:06d}"} for n in range(1, count)]
        for column in table.primary_key.columns:
            if column.name != "client_id":
                for copy in copies:
                    copy.pop(column.name, None)
        if copies:  # an empty list would insert one row of defaults
            conn.execute(table.insert(), copies)
    engine.dispose()
    return [made["client_id"]] + [c["client_id"] for c in copies], made["client_secret"]


def start_server(env: dict[str, str], workers: int, cpus: str | None
                 ) -> tuple[int, subprocess.Popen[bytes]]:
    port = free_port()
    proc = subprocess.Popen(pinned([SCOPEGATE, "serve", "--port", str(port), "--workers",
                                    str(workers)], cpus), env=env, stderr=subprocess.DEVNULL)
    wait_ready(port, proc)
    time.sleep(1.0 if workers > 1 else 0.2)
    return port, proc


def row(label: str, res: Result) -> None:
    print(f"{label:34} {res.rate():8.0f} {res.pct(0.5):7.2f} {res.pct(0.99):7.2f} "
          f"{res.errors:6d} {res.cpu_us():10.0f} {res.busy():5.2f}")


def header() -> None:
    print(f"{'case':34} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'errors':>6} "
          f"{'cpu µs/req':>10} {'busy':>5}")


def accumulate(total: Result, res: Result) -> None:
    total.ok += res.ok
    total.errors += res.errors
    total.latencies += res.latencies
    total.elapsed += res.elapsed
    total.cpu += res.cpu


def clients_case(backend: str, args: argparse.Namespace, tmp: Path, cpus: str | None,
                 redis: bool) -> None:
    url = make_database(backend, tmp)
    env = {**os.environ, "SCOPEGATE_DATABASE_URL": url,
           "SCOPEGATE_CLIENT_CACHE_TTL": str(args.client_ttl)}
    if redis:  # as deployed: changes are pushed, so the client cache keeps entries 300 s
        env["SCOPEGATE_REDIS_URL"] = REDIS_URL
        backend += "+redis"
    proc = None
    try:
        if not backend.startswith("sqlite"):  # SQLite keeps its KEK beside its file
            env["SCOPEGATE_KEK_FILE"] = str(tmp / f"{backend}.kek")
            subprocess.run([SCOPEGATE, "secrets", "generate-kek", "--output",
                            env["SCOPEGATE_KEK_FILE"]], env=env, check=True, capture_output=True)
        ids, secret = register_clients(env, ACTIVE_CLIENTS)
        port, proc = start_server(env, 1, cpus)
        one = _Cursor([token_request(port, ids[0], secret)])
        many = _Cursor([token_request(port, client_id, secret) for client_id in ids])
        load(port, one, 0.5, proc.pid)
        load(port, many, 600.0, proc.pid, until=ACTIVE_CLIENTS)  # each client once: warm
        totals = {"one": Result(), "many": Result()}
        for _ in range(args.rounds):
            accumulate(totals["one"], load(port, one, args.seconds, proc.pid))
            accumulate(totals["many"], load(port, many, args.seconds, proc.pid))
        row(f"{backend}, 1 client, ttl {args.client_ttl:g}", totals["one"])
        row(f"{backend}, {ACTIVE_CLIENTS:,} clients, ttl {args.client_ttl:g}", totals["many"])
        by_rate = totals["many"].rate() / max(totals["one"].rate(), 1e-9)
        by_cpu = totals["one"].cpu_us() / max(totals["many"].cpu_us(), 1e-9)
        verdict = "met" if by_cpu >= 0.9 else "NOT met"
        print(f"goal  {backend} ttl {args.client_ttl:g} {ACTIVE_CLIENTS} clients x one (cpu/req)"
              f"  {by_cpu:.2f}  >= 0.9  {verdict}  (req/s ratio {by_rate:.2f})")
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(10)
        drop_database(url)


def workers_case(args: argparse.Namespace, tmp: Path, cpus: str | None) -> None:
    url = make_database("postgresql", tmp)
    env = {**os.environ, "SCOPEGATE_DATABASE_URL": url, "SCOPEGATE_REDIS_URL": REDIS_URL,
           "SCOPEGATE_KEK_FILE": str(tmp / "workers.kek")}
    procs: dict[int, tuple[int, subprocess.Popen[bytes]]] = {}
    try:
        subprocess.run([SCOPEGATE, "secrets", "generate-kek", "--output",
                        env["SCOPEGATE_KEK_FILE"]], env=env, check=True, capture_output=True)
        ids, secret = register_clients(env, 1)
        for workers in (1, 2):
            procs[workers] = start_server(env, workers, cpus if workers == 1 else None)
        totals = {1: Result(), 2: Result()}
        for port, proc in procs.values():
            load(port, _Cursor([token_request(port, ids[0], secret)]), 0.5, proc.pid)
        for _ in range(args.rounds):
            for workers, (port, proc) in procs.items():
                request = _Cursor([token_request(port, ids[0], secret)])
                accumulate(totals[workers], load(port, request, args.seconds, proc.pid))
        for workers, res in totals.items():
            row(f"postgresql+redis, {workers} worker(s)", res)
        by_rate = totals[2].rate() / max(totals[1].rate(), 1e-9)
        by_cpu = totals[1].cpu_us() / max(totals[2].cpu_us(), 1e-9)
        print(f"figure  2 workers x 1 worker (req/s)  {by_rate:.2f}  "
              f"(cpu/req ratio {by_cpu:.2f}: 1.0 = each worker as efficient as one alone)")
    finally:
        for _, proc in procs.values():
            proc.terminate()
            proc.wait(10)
        drop_database(url)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=4.0, help="per round and case")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--cases", default="clients,workers")
    parser.add_argument("--client-ttl", type=float, default=5.0,
                        help="SCOPEGATE_CLIENT_CACHE_TTL (5 = default, which Redis raises to 300)")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="sgscale-"))
    two_cores = (os.cpu_count() or 1) >= 2
    cpus = "0" if two_cores else None
    if two_cores:
        os.sched_setaffinity(0, {1})  # the load generator on core 1
    print(f"{args.rounds} rounds x {args.seconds:.0f} s, 32 connections, "
          f"taskset {'server cpu0 / load cpu1' if two_cores else 'off'}")
    header()
    have_pg, have_redis = _reachable(5432), _reachable(6379)
    cases = args.cases.split(",")
    if "clients" in cases:
        for backend in ("sqlite", "postgresql") if have_pg else ("sqlite",):
            clients_case(backend, args, tmp, cpus, have_redis)
    if "workers" in cases:
        if have_pg and have_redis:
            workers_case(args, tmp, cpus)
        else:
            print("workers: skipped (needs PostgreSQL on 5432 and Redis on 6379)")


if __name__ == "__main__":
    main()
