"""Optional dependencies: a part of scopegate that needs an extra says which one to install.

The bare package is the SDK (client, scopes, the user commands); the server, the store and
the guard's adapters come with extras (``pip install 'scopegate[server]'``). Without this
check a bare install fails deep inside with ``No module named 'starlette'``.
"""

from __future__ import annotations

from importlib.util import find_spec

__all__ = ["MissingExtra", "install_hint", "require_extra"]


class MissingExtra(ImportError):
    """A part of scopegate was imported without the extra that brings its dependencies.

    :param extra: the extra to install, e.g. ``server``.
    :param missing: the modules that are not installed.
    """

    def __init__(self, part: str, extra: str, missing: list[str]) -> None:
        self.extra = extra
        super().__init__(f"{part} needs the '{extra}' extra (missing: {', '.join(missing)}); "
                         f"{install_hint(extra)}", name=missing[0])


def install_hint(extra: str) -> str:
    """The sentence that says how to add ``extra``."""
    return f"install scopegate[{extra}]: pip install 'scopegate[{extra}]'"


def require_extra(part: str, extra: str, *modules: str) -> None:
    """Raise :class:`MissingExtra` naming ``extra`` when one of ``modules`` is not installed.

    :param part: what the user imported or ran, e.g. ``scopegate.server``.
    :param extra: the extra that brings the dependencies, e.g. ``server``.
    :param modules: the top-level modules that extra installs.
    """
    missing = [name for name in modules if find_spec(name) is None]
    if missing:
        raise MissingExtra(part, extra, missing)
