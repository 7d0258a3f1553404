"""The SDK's default scopes come from the catalog, not from literals of its own."""

from __future__ import annotations

from scopegate.client._providers import (
    CLIENT_CREDENTIALS_DEFAULT_SCOPES,
    INTERACTIVE_DEFAULT_SCOPES,
)
from scopegate.scopes import SIGN_IN_SCOPES, default_catalog


def test_a_service_asks_for_the_catalogs_default_scopes() -> None:
    assert set(CLIENT_CREDENTIALS_DEFAULT_SCOPES) == default_catalog().default_scopes
    assert CLIENT_CREDENTIALS_DEFAULT_SCOPES == ("api",)  # what every release has sent


def test_a_person_signs_in_with_openid_connect_and_the_defaults() -> None:
    assert (*SIGN_IN_SCOPES, *CLIENT_CREDENTIALS_DEFAULT_SCOPES) == INTERACTIVE_DEFAULT_SCOPES
    assert INTERACTIVE_DEFAULT_SCOPES == ("openid", "profile", "email", "offline_access", "api")
