"""A ``SCOPEGATE_*`` variable that no part of scopegate reads gets a warning.

pydantic-settings reads only the variables its fields name, so a misspelt setting
(``SCOPEGATE_CATALOG`` for ``SCOPEGATE_CATALOG_PATH``) would be ignored without a word. It
is a warning, not an error: one shell often holds the guard's, the SDK's and the examples'
variables too (all known here), and a variable of a newer version must not stop a server.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping

import typer

from ..client._config import ENV_SELECT_ENV
from ..client._config_files import CONFIG_DIR_ENV
from ..client._factory import API_URL_ENV, DPOP_ENV, NO_KEYRING_ENV
from ..client._http import HTTP_TIMEOUT_ENV
from ..client._https import INSECURE_HTTP_ENV
from ..guard.config import ENV_NAMES
from ..server.config.settings import ENV_PREFIX, Features, Settings

__all__ = ["known_variables", "unknown_variables", "warn_unknown_variables"]

# Read by the examples, the test suite and the benchmarks (SCOPEGATE_EXAMPLE_* and so on).
_OWNED_PREFIXES = tuple(ENV_PREFIX + part for part in ("EXAMPLE_", "TEST_", "BENCH_"))
_OTHERS = (ENV_SELECT_ENV, CONFIG_DIR_ENV, API_URL_ENV, DPOP_ENV, NO_KEYRING_ENV, HTTP_TIMEOUT_ENV,
           INSECURE_HTTP_ENV, ENV_PREFIX + "REQUIRE_SERVICES")


def known_variables() -> frozenset[str]:
    """Every ``SCOPEGATE_*`` name the server, the guard or the SDK reads."""
    server = {ENV_PREFIX + name.upper() for name in Settings.model_fields if name != "features"}
    features = {f"{ENV_PREFIX}FEATURE_{name.upper()}" for name in Features.model_fields}
    return frozenset(server | features | set(ENV_NAMES.values()) | set(_OTHERS))


def unknown_variables(names: Iterable[str]) -> list[tuple[str, str | None]]:
    """(variable, the known name it most resembles or None) for each unknown ``names``."""
    known = known_variables()
    out: list[tuple[str, str | None]] = []
    for name in sorted(names):
        upper = name.upper()  # the settings read variables case-insensitively
        if not upper.startswith(ENV_PREFIX) or upper in known \
                or upper.startswith(_OWNED_PREFIXES):
            continue
        close = [ENV_PREFIX + match for match in difflib.get_close_matches(
            upper.removeprefix(ENV_PREFIX), [k.removeprefix(ENV_PREFIX) for k in known],
            n=1, cutoff=0.75)]  # the shared prefix alone must not make names look alike
        if not close:  # a prefix of a longer name: SCOPEGATE_CATALOG -> ..._CATALOG_PATH
            close = sorted(k for k in known if k.startswith(upper + "_"))[:1]
        out.append((name, close[0] if close else None))
    return out


def warn_unknown_variables(env: Mapping[str, str]) -> None:
    """One line on stderr per ``SCOPEGATE_*`` variable nothing reads."""
    for name, suggestion in unknown_variables(env):
        hint = f" (did you mean {suggestion}?)" if suggestion else ""
        typer.echo(f"scopegate: warning: {name} is not a scopegate setting and is "
                   f"ignored{hint}", err=True)
