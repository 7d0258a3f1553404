"""Usage counts from many guards add up per hour, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from scopegate.store import Database
from scopegate.store.repositories.usage import AudienceModes, UsageRepository, UsageRow

NOW = datetime(2026, 12, 4, 10, 30, tzinfo=UTC)
API = "https://api.example/usage-test"


def _row(n: int, *, audience_ok: bool = False, version: str = "1.0.0", key: str = "",
         scopes: str = "apps:read", client: str = "cli") -> UsageRow:
    return UsageRow(client, key, "acme-sdk", version, audience_ok, scopes, n)


def test_two_guards_reporting_the_same_hour_add_up(db: Database) -> None:
    repo = UsageRepository(db)
    repo.add(API, [_row(3), _row(2, version="2.0.0", audience_ok=True)], NOW)
    repo.add(API, [_row(4)], NOW + timedelta(minutes=10))
    assert repo.missing_by_hour(API, NOW - timedelta(days=7)) == {
        NOW.replace(minute=0): 7}
    callers = repo.callers(API, NOW - timedelta(days=7))
    assert [(c.sdk_version, c.count, c.missing) for c in callers] == [("1.0.0", 7, 7),
                                                                       ("2.0.0", 2, 0)]
    assert callers[0].last_seen == NOW + timedelta(minutes=10)
    assert repo.total(API, NOW - timedelta(days=7)) == 9


def test_scopes_used_are_per_client_and_per_key_and_old_hours_prune(db: Database) -> None:
    repo = UsageRepository(db)
    resource = API + "/scopes"
    repo.add(resource, [_row(1, key="key_1", scopes="apps:read", client="svc"),
                        _row(1, scopes="apps:read apps:run", client="svc")],
             NOW - timedelta(days=40))
    repo.add(resource, [_row(5, key="key_1", scopes="apps:read", client="svc")], NOW)
    used = repo.scopes_used(NOW - timedelta(days=30))
    assert used[("svc", "key_1")] == {"apps:read"}
    assert ("svc", "") not in used  # its only use was 40 days ago
    assert repo.prune(NOW - timedelta(days=30)) == 2
    assert ("svc", "") not in repo.scopes_used(NOW - timedelta(days=60))


def test_the_audience_mode_an_operator_sets_is_read_back(db: Database) -> None:
    modes = AudienceModes(db)
    assert modes.get(API) is None
    modes.set(API, "warn", "usr_1", NOW)
    modes.set(API, "enforce", "usr_2", NOW)
    assert modes.get(API) == "enforce" and modes.all()[API] == "enforce"
