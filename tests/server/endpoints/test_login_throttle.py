"""Login throttling: only failures count, per (account, address) and per address, with a
growing wait; the owner elsewhere is never refused. In memory and on the real Redis."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from scopegate.cli._local_stack import free_port
from scopegate.server.app import create_app
from scopegate.server.config.settings import Settings
from scopegate.server.state import ServerState

from ..grants.flow import PASSWORD, hidden, make_user
from ..test_fast_lane import _sample

ISSUER = "http://testserver"
PER_ACCOUNT = 3
PER_ADDRESS = 8
_addresses = itertools.count(1)


def _address() -> str:
    """A client address no other test (or earlier run against the same Redis) used."""
    n = next(_addresses)
    return f"10.{int(time.time()) % 250}.{n // 250}.{n % 250}"


@pytest.fixture(scope="module", params=["memory", "redis"])
def settings(request: pytest.FixtureRequest,
             tmp_path_factory: pytest.TempPathFactory) -> Settings:
    redis = request.getfixturevalue("redis_url") if request.param == "redis" else None
    db = tmp_path_factory.mktemp("db") / "scopegate.db"
    return Settings(database_url=f"sqlite:///{db}", issuer=ISSUER, redis_url=redis,
                    login_failures_per_account_address=PER_ACCOUNT,
                    login_failures_per_address=PER_ADDRESS,
                    login_first_wait=1.0, login_max_wait=2.0, login_failure_reset=120.0)


@pytest.fixture(scope="module")
def app(settings: Settings) -> Starlette:
    return create_app(settings)


@pytest.fixture(scope="module")
def state(app: Starlette) -> Iterator[ServerState]:
    with TestClient(app):  # runs the lifespan once for the module
        yield app.state.server


def _browser(app: Starlette, address: str) -> closing[TestClient]:
    """A browser at ``address`` on an app whose lifespan already runs."""
    return closing(TestClient(app, raise_server_exceptions=False, client=(address, 40000)))


def _login(browser: TestClient, email: str, password: str = PASSWORD) -> httpx.Response:
    form = browser.get("/login")
    assert form.status_code == 200
    return browser.post("/login", data={"csrf": hidden(form.text, "csrf"), "email": email,
                                        "password": password, "next": "/device"},
                        follow_redirects=False)


def _assert_refused(response: httpx.Response) -> int:
    """A 429 sign-in page (not a traceback) that says when to try again."""
    assert response.status_code == 429, response.text[:300]
    assert response.headers["content-type"].startswith("text/html")
    wait = int(response.headers["retry-after"])
    assert wait >= 1
    assert "Too many sign-in attempts" in response.text and "Try again in" in response.text
    assert 'name="password"' in response.text  # the form, ready for later
    return wait


def test_successful_logins_never_count(app: Starlette, state: ServerState) -> None:
    user = make_user(state)
    with _browser(app, _address()) as browser:
        statuses = [_login(browser, user.email).status_code for _ in range(12)]
    assert statuses == [303] * 12


def test_failures_lock_that_account_from_that_address_only(app: Starlette,
                                                           state: ServerState) -> None:
    user, other = make_user(state), make_user(state)
    with _browser(app, _address()) as attacker:
        wrong = [_login(attacker, user.email, "not the password").status_code
                 for _ in range(PER_ACCOUNT)]
        assert wrong == [401] * PER_ACCOUNT
        # Refused before the password is looked at, even the right one.
        _assert_refused(_login(attacker, user.email))
        # Another account from the same address is not locked by these failures.
        assert _login(attacker, other.email).status_code == 303
    with _browser(app, _address()) as owner:
        assert _login(owner, user.email).status_code == 303


def test_a_success_clears_that_account_and_address(app: Starlette, state: ServerState) -> None:
    user = make_user(state)
    with _browser(app, _address()) as browser:
        for _ in range(2):
            statuses = [_login(browser, user.email, "typo password").status_code
                        for _ in range(PER_ACCOUNT - 1)]
            assert statuses == [401] * (PER_ACCOUNT - 1)
            assert _login(browser, user.email).status_code == 303
        assert _login(browser, user.email, "typo password").status_code == 401
        assert _login(browser, user.email, "typo password").status_code == 401
        assert _login(browser, user.email, "typo password").status_code == 401
        _assert_refused(_login(browser, user.email, "typo password"))


def test_one_address_trying_many_accounts_is_slowed(app: Starlette, state: ServerState) -> None:
    user = make_user(state)
    with _browser(app, _address()) as sprayer:
        statuses = [_login(sprayer, f"victim{n}@example.org", "Winter2026!").status_code
                    for n in range(PER_ADDRESS)]
        assert statuses == [401] * PER_ADDRESS
        _assert_refused(_login(sprayer, "victim-next@example.org", "Winter2026!"))
        _assert_refused(_login(sprayer, user.email))
    with _browser(app, _address()) as elsewhere:
        assert _login(elsewhere, user.email).status_code == 303


def test_the_wait_grows_up_to_the_max(app: Starlette, state: ServerState) -> None:
    user = make_user(state)
    waits = []
    with _browser(app, _address()) as browser:
        for _ in range(PER_ACCOUNT):
            assert _login(browser, user.email, "wrong password").status_code == 401
        for _ in range(3):
            wait = _assert_refused(_login(browser, user.email, "wrong password"))
            waits.append(wait)
            time.sleep(wait + 0.05)
            assert _login(browser, user.email, "wrong password").status_code == 401
    # first wait 1 s, doubled per further failure, never beyond the 2 s maximum
    assert waits == [1, 2, 2]


def test_parallel_guesses_are_counted_before_the_password_is_checked(
        app: Starlette, state: ServerState) -> None:
    user = make_user(state)
    throttled = 'scopegate_http_throttled_total{endpoint="login_submit",method="POST"}'
    with _browser(app, _address()) as browser:
        before = _sample(browser.get("/metrics").text, throttled)
        form = browser.get("/login")
        data = {"csrf": hidden(form.text, "csrf"), "email": user.email,
                "password": "guess guess", "next": "/device"}
        with ThreadPoolExecutor(max_workers=10) as pool:
            statuses = list(pool.map(
                lambda _: browser.post("/login", data=data, follow_redirects=False).status_code,
                range(10)))
        after = _sample(browser.get("/metrics").text, throttled)
    assert sorted(statuses) == [401] * PER_ACCOUNT + [429] * (10 - PER_ACCOUNT)
    assert after - before == 10 - PER_ACCOUNT  # every refusal is counted


def test_an_ipv6_client_is_counted_per_64(app: Starlette, state: ServerState) -> None:
    user = make_user(state)
    site, subnet = next(_addresses), int(time.time()) % 65535
    block = f"2001:db8:{site:x}:{subnet:x}"
    with _browser(app, f"{block}::1") as sprayer:
        for n in range(PER_ADDRESS):
            assert _login(sprayer, f"v6-victim{n}@example.org", "Winter2026!").status_code == 401
    with _browser(app, f"{block}::2") as neighbour:  # same subscriber, another address
        _assert_refused(_login(neighbour, user.email))
    with _browser(app, f"2001:db8:{site:x}:{subnet + 1:x}::1") as elsewhere:  # next /64
        assert _login(elsewhere, user.email).status_code == 303


def test_replicas_share_the_counters_through_redis(redis_url: str, tmp_path: Path) -> None:
    shared = Settings(database_url=f"sqlite:///{tmp_path / 'replicas.db'}", issuer=ISSUER,
                      redis_url=redis_url, login_failures_per_account_address=PER_ACCOUNT,
                      login_first_wait=30.0, login_max_wait=30.0, login_failure_reset=60.0)
    # Two processes on the same database and Redis.
    first_app, second_app = create_app(shared), create_app(shared)
    address = _address()
    with TestClient(first_app), TestClient(second_app), \
            _browser(first_app, address) as first, _browser(second_app, address) as second, \
            _browser(second_app, _address()) as owner:
        user = make_user(first_app.state.server)
        for _ in range(PER_ACCOUNT):
            assert _login(first, user.email, "wrong password").status_code == 401
        assert _assert_refused(_login(second, user.email)) >= 29
        assert _login(owner, user.email).status_code == 303


def test_failures_are_forgotten_after_the_reset_time(settings: Settings,
                                                    state: ServerState) -> None:
    quick = create_app(settings.replace(login_failures_per_account_address=2,
                                         login_failure_reset=1.0))
    user = make_user(state)
    with TestClient(quick), _browser(quick, _address()) as browser:
        assert [_login(browser, user.email, "wrong password").status_code
                for _ in range(2)] == [401, 401]
        time.sleep(1.2)  # the 1 s wait and the 1 s reset both passed
        assert [_login(browser, user.email, "wrong password").status_code
                for _ in range(2)] == [401, 401]
        _assert_refused(_login(browser, user.email))


def test_sign_in_works_and_is_throttled_while_redis_is_down(tmp_path: Path) -> None:
    down = Settings(database_url=f"sqlite:///{tmp_path / 'down.db'}", issuer=ISSUER,
                    redis_url=f"redis://127.0.0.1:{free_port()}/0",  # nobody listens
                    login_failures_per_account_address=2, login_first_wait=60.0,
                    login_max_wait=60.0)
    app = create_app(down)
    with TestClient(app), _browser(app, _address()) as browser:
        user = make_user(app.state.server)
        assert _login(browser, user.email).status_code == 303
        assert [_login(browser, user.email, "wrong password").status_code
                for _ in range(2)] == [401, 401]
        assert _assert_refused(_login(browser, user.email)) >= 59
