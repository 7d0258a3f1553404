"""Benchmark: what the minute maintenance pass costs, on SQLite and PostgreSQL.

Seeds ``--rows`` users, each with a consent, an API key and a refresh token (half of
them expired), then times: the first pass (a backlog: bounded to ``MAX_BATCHES`` x
``PRUNE_BATCH`` rows per table), passes until the backlog is gone, and a steady-state
pass that finds nothing to delete (what every replica pays each minute). The pass runs
in a worker thread on the server, so this is database and thread time, never
event-loop time.

Run: ``python bench/bench_prune.py [--rows 100000] [--backends sqlite,postgres]``.

Figures on the 2-core development machine (other suites running), rows=100000::

    backend   backlog pass (5000 rows)   passes to drain 50000   steady pass
    sqlite     88 ms                     11                       32 ms
    postgres  158 ms                     11                       53 ms

(The last pass of a drain finds the bound was exactly met and deletes nothing.) The
steady pass is dominated by the orphaned-consent sweep (an anti-join over every consent,
~40 ms per 100k consents on PostgreSQL); every other table is an index range scan.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import uuid
from datetime import timedelta

import sqlalchemy as sa

from scopegate.server.ops.maintenance import prune_expired
from scopegate.store import Database
from scopegate.store.models import utcnow

PG = os.environ.get("SCOPEGATE_TEST_POSTGRES_URL",
                    "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def seed(db: Database, rows: int) -> None:
    now = utcnow()
    live, past = now + timedelta(days=1), now - timedelta(days=1)
    with db.engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO clients (client_id, name, is_public, grant_types, redirect_uris, "
            "allowed_scopes, default_scopes, created_at) "
            "VALUES ('c', 'c', true, '[]', '[]', '[]', '[]', :n)"), {"n": now})
        conn.execute(sa.text(
            "INSERT INTO users (id, email, password_hash, role, created_at) "
            "VALUES (:i, :e, 'x', 'member', :n)"),
            [{"i": f"u{i}", "e": f"u{i}@x.org", "n": now} for i in range(rows)])
        conn.execute(sa.text(
            "INSERT INTO consents (user_id, client_id, scopes, updated_at) "
            "VALUES (:u, 'c', '[]', :n)"), [{"u": f"u{i}", "n": now} for i in range(rows)])
        conn.execute(sa.text(
            "INSERT INTO api_keys (id, user_id, name, prefix, key_hash, scopes, created_at) "
            "VALUES (:i, :u, 'k', 'sg', '0', '[]', :n)"),
            [{"i": f"k{i}", "u": f"u{i}", "n": now} for i in range(rows)])
        conn.execute(sa.text(
            "INSERT INTO refresh_tokens (token_hash, family_id, client_id, user_id, scopes, "
            "resources, auth_time, expires_at, created_at) "
            "VALUES (:h, :f, 'c', :u, '[]', '[]', :n, :e, :n)"),
            [{"h": f"h{i}", "f": f"f{i}", "u": f"u{i}", "n": now,
              "e": live if i % 2 else past} for i in range(rows)])


def timed_pass(db: Database) -> tuple[float, int, bool]:
    start = time.perf_counter()
    report = prune_expired(db)
    return (time.perf_counter() - start) * 1000, report.total, report.complete


def run(backend: str, rows: int) -> None:
    admin, schema = None, f"bench_{uuid.uuid4().hex[:8]}"
    if backend == "postgres":
        admin = sa.create_engine(PG)
        with admin.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        url = f"{PG}?options=-csearch_path%3D{schema}"
    else:
        url = f"sqlite:///{tempfile.mkdtemp()}/bench.db"
    db = Database(url)
    try:
        db.upgrade()
        seed(db, rows)
        ms, pruned, complete = timed_pass(db)
        passes = 1
        while not complete:
            _, _, complete = timed_pass(db)
            passes += 1
        steady, _, _ = timed_pass(db)
        print(f"{backend:9} backlog pass {ms:6.1f} ms ({pruned} rows)   "
              f"passes to drain {passes:3}   steady pass {steady:6.1f} ms")
    finally:
        db.dispose()
        if admin is not None:
            with admin.begin() as conn:
                conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--backends", default="sqlite,postgres")
    args = parser.parse_args()
    for backend in args.backends.split(","):
        run(backend, args.rows)


if __name__ == "__main__":
    main()
