"""Fixtures of the client end-to-end tests: one real stack per session, Chromium per module."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from _servers import CHROMIUM_ARGS, Stack, build_stack, write_config

USERS = ["ada", "bob", "carol", "dave", "erin"]


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The authorization server and the example API, running as child processes."""
    with build_stack(tmp_path_factory.mktemp("e2e-stack"), USERS) as running:
        yield running


@pytest.fixture
def config(tmp_path: Path, stack: Stack) -> Path:
    """A fresh config dir (environments.json, credentials) for the SDK and the user CLI."""
    return write_config(tmp_path / "config", stack)


@pytest.fixture(scope="module")
def chromium(chromium_path: str) -> Iterator[Any]:
    """Headless Debian Chromium driven by Playwright's sync API.

    Module scope, not session: the sync API keeps an event loop running in this thread,
    and ``asyncio.run`` in any later test would fail while it is open.
    """
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def new_page(chromium: Any) -> Iterator[Callable[[], Any]]:
    """Open pages in fresh browser contexts (no cookies: the server asks to sign in)."""
    contexts: list[Any] = []

    def open_page() -> Any:
        context = chromium.new_context()
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()
