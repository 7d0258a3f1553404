"""plan_step_up's three answers, TTY / CI detection, and reading insufficient_scope challenges."""

from __future__ import annotations

import io

import httpx
import pytest

from scopegate.client import ScopeStepUpRequired
from scopegate.client._challenges import insufficient_scope, user_authentication
from scopegate.client._step_up import Covered, MissingNonInteractive, Reauthenticate, plan_step_up
from scopegate.client._terminal import is_interactive

DEFAULTS = ("openid", "api")


def test_covered_when_granted_includes_required() -> None:
    assert plan_step_up({"api", "apps:read"}, {"apps:read"}, True, DEFAULTS) == Covered()
    assert plan_step_up({"api"}, set(), False, DEFAULTS) == Covered()


def test_interactive_reauthenticates_for_defaults_granted_and_required() -> None:
    plan = plan_step_up({"apps:read", "keys:read"}, {"apps:write"}, True, DEFAULTS)
    assert plan == Reauthenticate(
        frozenset({"openid", "api", "apps:read", "keys:read", "apps:write"})
    )


def test_non_interactive_lists_only_the_missing_scopes() -> None:
    plan = plan_step_up({"apps:read"}, {"apps:read", "apps:write", "keys:read"}, False, DEFAULTS)
    assert plan == MissingNonInteractive(frozenset({"apps:write", "keys:read"}))


def test_step_up_required_message_is_readable_and_copy_pasteable() -> None:
    error = ScopeStepUpRequired({"keys:read", "apps:write"}, "staging eu")
    text = str(error)
    assert "apps:write, keys:read" in text
    assert error.hint == "scopegate login --env 'staging eu' --scope apps:write --scope keys:read"
    assert error.exit_code == 4


class FakeStream(io.StringIO):
    def __init__(self, tty: bool) -> None:
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


def test_interactive_if_any_stream_is_a_tty(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    assert is_interactive([FakeStream(False), FakeStream(False), FakeStream(True)])
    assert not is_interactive([FakeStream(False), FakeStream(False), FakeStream(False)])


def test_ci_means_non_interactive_even_with_a_tty(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    assert not is_interactive([FakeStream(True)])


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        (
            ['Bearer error="insufficient_scope", scope="apps:write keys:read"'],
            frozenset({"apps:write", "keys:read"}),
        ),
        (['Bearer realm="api",error="insufficient_scope"'], frozenset()),
        (['Bearer error="invalid_token"'], None),
        (['Basic realm="x"'], None),
        ([], None),
    ],
)
def test_reads_insufficient_scope_challenges(
    headers: list[str], expected: frozenset[str] | None
) -> None:
    assert insufficient_scope(headers) == expected


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ('Bearer error="insufficient_user_authentication", max_age="300"', (300, ())),
        ('Bearer error="insufficient_user_authentication", acr_values="a b"', (None, ("a", "b"))),
        ('Bearer error="insufficient_user_authentication", max_age="soon"', (None, ())),
        ('Bearer error="insufficient_user_authentication", max_age="-1"', (None, ())),
        ('Bearer error="invalid_token"', None),
    ],
)
def test_reads_insufficient_user_authentication(
    header: str, expected: tuple[int | None, tuple[str, ...]] | None
) -> None:
    answer = httpx.Response(401, headers={"WWW-Authenticate": header})
    found = user_authentication(answer)
    assert (None if found is None else (found.max_age, found.acr_values)) == expected
    assert user_authentication(httpx.Response(403, headers={"WWW-Authenticate": header})) is None
