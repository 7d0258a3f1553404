"""Help pages in words: ``--scope SCOPE``, ``--port INTEGER``, a flag with no type at all.

Typer 0.29 prints Python annotations as the value column (``<list[str]>``, ``<bool>`` on
a flag), which reads as source code. :func:`in_words` walks the command tree once and
gives every parameter a word instead: its own ``metavar`` when it has one (``URL``,
``NAME``), else click's word for its type (``TEXT``, ``INTEGER``, ``PATH``, ``a|b``).
"""

from __future__ import annotations

import re

from typer._click import (
    Command,
    Context,  # Typer 0.29 vendors click; not re-exported
)
from typer.core import TyperArgument, TyperGroup, TyperOption

__all__ = ["in_words"]

_WORDS = {"str": "TEXT", "int": "INTEGER", "float": "NUMBER", "Path": "PATH",
          "datetime": "DATE", "UUID": "UUID", "int range": "INTEGER", "float range": "NUMBER"}
_LIST = re.compile(r"^list\[(.*)\]$")


def word_for(typed: str) -> str:
    """``<list[str]>`` -> ``TEXT``; ``<json|table>`` -> ``json|table``; unknown -> upper case."""
    inner = typed.strip("<>")
    listed = _LIST.match(inner)
    inner = listed.group(1) if listed else inner
    if "|" in inner:
        return inner
    return _WORDS.get(inner, inner.upper())


class _WordOption(TyperOption):
    def display_type_rich(self, ctx: Context) -> str | None:
        if self.is_flag or self.count:
            return None  # a flag takes no value: nothing to show
        return self.metavar or word_for(self.display_type(ctx))


class _WordArgument(TyperArgument):
    def display_type_rich(self, ctx: Context) -> str | None:
        return None  # the argument's NAME column already says it

    def _usage_display_name(self) -> str:
        name = self.metavar or self.display_name_raw.upper()  # click's CLIENT_ID, not {client_id}
        name = name if self.required else f"[{name}]"
        return name + ("..." if self.nargs != 1 else "")


def in_words(command: Command) -> None:
    """Give every parameter of ``command`` and its subcommands a word, not a type."""
    # typer makes --help on first use; make it now so it gets a word (none) too
    command.get_help_option(Context(command, **command.context_settings))
    for param in [*command.params, command._help_option]:
        if type(param) is TyperOption:
            param.__class__ = _WordOption
        elif type(param) is TyperArgument:
            param.__class__ = _WordArgument
    if isinstance(command, TyperGroup):
        for sub in command.commands.values():
            in_words(sub)
