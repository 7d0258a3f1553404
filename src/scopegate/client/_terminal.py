"""Server text made safe for a terminal: what a server says is shown, never obeyed.

An ``error_description``, a user name, a scope or a device URL comes from the server.
Printed raw, ``ESC[2J`` clears the screen, OSC 52 writes the clipboard, a newline forges
a line such as "Logged in as admin", and ``[/x]`` is rich markup that raises. Every
place that prints server text goes through :func:`terminal_text`.
:func:`is_interactive` says whether a person is at the terminal to answer a login.
"""

from __future__ import annotations

import os
import re
import sys
import unicodedata
from collections.abc import Iterable
from typing import TextIO

from rich.markup import escape

__all__ = ["is_interactive", "terminal_text"]

#: Longer server text is cut: an error line stays readable and the work stays small.
MAX_SHOWN = 2000

# Escape sequences are removed whole, so their parameters do not show as litter.
_SEQUENCE = re.compile(
    r"""
      (?:\x1b\[|\x9b) [\x30-\x3f]* [\x20-\x2f]* [\x40-\x7e]?        # CSI (7- and 8-bit)
    | (?:\x1b[\]P^_X]|[\x90\x98\x9d\x9e\x9f]) [^\x07\x1b\x9c]*      # OSC, DCS, PM, APC, SOS
      (?:\x07|\x1b\\|\x9c)?                                         #   up to the terminator
    | \x1b [\x20-\x2f]* [\x30-\x7e]?                                # any other ESC sequence
    """,
    re.VERBOSE,
)
_LINE_BREAKS = frozenset("\n\r\x0b\x0c\x85\u2028\u2029")
# Bidirectional overrides reorder what is shown ("Trojan Source"); zero-width ones hide.
_INVISIBLE = frozenset("\u200b\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _keep(char: str, multiline: bool) -> str:
    if char in _LINE_BREAKS:
        return "\n" if multiline and char == "\n" else " "
    if char == "\t":
        return " "
    if char in _INVISIBLE or unicodedata.category(char) == "Cc":
        return ""
    return char


def terminal_text(value: object, *, multiline: bool = False, markup: bool = True) -> str:
    """Return ``value`` as inert text: no control characters or escape sequences.

    :param multiline: keep ``\\n``; otherwise every line break becomes a space, so a
        server cannot start a line of its own.
    :param markup: escape rich markup (for ``Console.print``); False for plain ``print``.
    """
    text = str(value)
    if len(text) > MAX_SHOWN:
        text = text[:MAX_SHOWN] + "…"
    text = _SEQUENCE.sub("", text)
    text = "".join(_keep(char, multiline) for char in text)
    return escape(text) if markup else text


def is_interactive(streams: Iterable[TextIO | None] | None = None) -> bool:
    """Return whether a person can answer a login here.

    False when ``CI`` is set; otherwise True if ANY of stdin/stdout/stderr is a TTY, so
    redirecting one stream does not block a user who can still use the browser.
    """
    if os.environ.get("CI", "").strip().lower() not in ("", "0", "false"):
        return False
    chosen = (sys.stdin, sys.stdout, sys.stderr) if streams is None else streams
    for stream in chosen:
        try:
            if stream is not None and stream.isatty():
                return True
        except (AttributeError, ValueError):
            continue
    return False
