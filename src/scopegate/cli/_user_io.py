"""How the user commands talk: one ``warning:``/``error:`` line on stderr, inert server text,
and client errors turned into the documented exit code (see :mod:`.user`)."""

from __future__ import annotations

import functools
import logging
import warnings
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import httpx
import typer
from rich.console import Console

from scopegate.client import ClientError, terminal_text
from scopegate.client._stores import KeyringFallbackWarning

__all__ = ["err", "error", "friendly", "out", "warn"]

P = ParamSpec("P")
R = TypeVar("R")

out = Console()
err = Console(stderr=True)


class _WarningLine(logging.Handler):
    """Show the SDK's warnings (e.g. the keyring fallback) as one line on stderr."""

    def emit(self, record: logging.LogRecord) -> None:
        warn(record.getMessage())


def warn(message: object) -> None:
    err.print(f"[yellow]warning:[/] {terminal_text(message)}", highlight=False, soft_wrap=True)


def error(message: object) -> None:
    err.print(f"[red]error:[/] {terminal_text(message)}", highlight=False, soft_wrap=True)


def friendly(func: Callable[P, R]) -> Callable[P, R]:
    """Turn client errors into one readable line and the documented exit code."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        sdk_log = logging.getLogger("scopegate.client")
        handler = _WarningLine(logging.WARNING)
        sdk_log.addHandler(handler)
        try:
            with warnings.catch_warnings():
                # The same announcement arrives as a log line; show it once.
                warnings.simplefilter("ignore", KeyringFallbackWarning)
                return func(*args, **kwargs)
        except ClientError as exc:
            error(exc)
            raise typer.Exit(exc.exit_code) from None
        except httpx.HTTPError as exc:
            try:
                where = str(exc.request.url)
            except RuntimeError:  # an error raised before any request was built
                where = "the server"
            error(f"cannot reach {where}: {exc}")
            raise typer.Exit(1) from None
        finally:
            sdk_log.removeHandler(handler)

    return wrapper


