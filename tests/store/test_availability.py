"""Which database errors are an outage: real errors from SQLite and PostgreSQL.

A failing statement stays what it is (the caller's error); a database that cannot be
reached becomes ``DatabaseUnavailable``, heard once when it starts and once when it ends.
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError, IntegrityError

from scopegate.store import AvailabilityChange, Database, DatabaseUnavailable


def select_one(db: Database) -> int:
    with db.session() as session:
        return int(session.execute(sa.text("SELECT 1")).scalar_one())


def test_sqlite_statement_errors_are_not_an_outage(tmp_path: Path) -> None:
    changes: list[AvailabilityChange] = []
    db = Database(f"sqlite:///{tmp_path / 's.db'}", on_availability=changes.append)
    with db.session() as session:
        session.execute(sa.text("CREATE TABLE t (id INTEGER PRIMARY KEY)"))
        session.execute(sa.text("INSERT INTO t VALUES (1)"))
    with pytest.raises(IntegrityError), db.session() as session:
        session.execute(sa.text("INSERT INTO t VALUES (1)"))
    with pytest.raises(sa.exc.OperationalError), db.session() as session:
        session.execute(sa.text("SELECT * FROM no_such_table"))
    assert changes == [] and not db.availability.down
    db.dispose()


def test_a_sqlite_file_that_cannot_be_opened_is_an_outage_until_it_can(tmp_path: Path) -> None:
    changes: list[AvailabilityChange] = []
    db = Database(f"sqlite:///{tmp_path / 'volume' / 's.db'}", on_availability=changes.append)
    (tmp_path / "volume").rmdir()  # the volume is not mounted
    for _ in range(3):
        with pytest.raises(DatabaseUnavailable):
            select_one(db)
    assert [c.available for c in changes] == [False]
    assert "unable to open database file" in changes[0].reason
    (tmp_path / "volume").mkdir()
    assert select_one(db) == 1
    assert [c.available for c in changes] == [False, True]
    assert changes[1].down_for_s >= 0
    db.dispose()


@pytest.mark.postgres
def test_postgres_statement_errors_are_not_an_outage(postgres_url: str) -> None:
    changes: list[AvailabilityChange] = []
    db = Database(postgres_url, on_availability=changes.append)
    for statement in ("SELECT * FROM no_such_table", "SELECT 1 / 0"):
        with pytest.raises(DBAPIError) as caught, db.session() as session:
            session.execute(sa.text(statement))
        assert not isinstance(caught.value, DatabaseUnavailable)
    assert changes == []
    db.dispose()


@pytest.mark.postgres
def test_a_postgres_connection_killed_mid_use_is_an_outage_and_the_pool_recovers(
        postgres_url: str) -> None:
    changes: list[AvailabilityChange] = []
    db = Database(postgres_url, on_availability=changes.append)
    assert select_one(db) == 1
    with pytest.raises(DatabaseUnavailable), db.session() as session:
        # Our own backend, in our own throw-away database.
        session.execute(sa.text("SELECT pg_terminate_backend(pg_backend_pid())"))
    assert select_one(db) == 1  # a fresh connection, no restart
    assert [c.available for c in changes] == [False, True]
    db.dispose()


def test_a_refused_postgres_connection_is_an_outage() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    changes: list[AvailabilityChange] = []
    db = Database(f"postgresql+psycopg://postgres@127.0.0.1:{port}/none",
                  on_availability=changes.append)
    with pytest.raises(DatabaseUnavailable):
        select_one(db)
    assert [c.available for c in changes] == [False]
    db.dispose()
