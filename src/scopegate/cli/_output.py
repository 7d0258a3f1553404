"""How the ``scopegate`` commands print: one line of JSON for scripts (``--json``), else
a line or a table for people."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

import orjson
import typer
from rich.console import Console
from rich.table import Table

__all__ = ["print_json", "print_listing", "print_result", "print_table"]

T = TypeVar("T")


def print_json(value: Any) -> None:
    """Print ``value`` as one line of JSON (datetimes and other objects as strings)."""
    typer.echo(orjson.dumps(value, default=str).decode())


def print_table(columns: Sequence[str], rows: Iterable[Sequence[str]]) -> None:
    """Print a rich table with ``columns`` as its header; a long cell (a URL, an id) wraps
    rather than being cut with an ellipsis, so what is printed can be copied."""
    table = Table()
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*row)
    Console().print(table)


def print_result(as_json: bool, view: Any, line: str) -> None:
    """Say what a command did: ``view`` as JSON with ``--json``, else one line."""
    if as_json:
        print_json(view)
    else:
        typer.echo(line)


def print_listing(as_json: bool, items: Iterable[T], *, view: Callable[[T], Any],
                  columns: Sequence[str], row: Callable[[T], Sequence[str]]) -> None:
    """Print a list: a JSON array of ``view(item)`` with ``--json``, else a table."""
    listed = list(items)
    if as_json:
        print_json([view(item) for item in listed])
    else:
        print_table(columns, (row(item) for item in listed))
