"""terminal_text and retry_after_seconds: the two small parsers behind what the CLI shows."""

from __future__ import annotations

import pytest

from scopegate.client import terminal_text
from scopegate.client._exceptions import retry_after_seconds


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("plain text", "plain text"),
        ("a\x1b[31mred\x1b[0m b", "ared b"),
        ("x\x1b]8;;https://evil.example\x1b\\link\x1b]8;;\x1b\\y", "xlinky"),  # OSC 8 link
        ("one\ntwo\r\nthree", "one two  three"),
        ("tab\there", "tab here"),
        ("é ü 日本", "é ü 日本"),
        ("[bold]x[/bold]", "\\[bold]x\\[/bold]"),
        ("\x1b", ""),
        ("\x1b[", ""),
    ],
)
def test_terminal_text(raw: str, shown: str) -> None:
    assert terminal_text(raw) == shown


def test_terminal_text_keeps_newlines_only_when_asked_and_cuts_floods() -> None:
    assert terminal_text("a\nb", multiline=True, markup=False) == "a\nb"
    assert terminal_text("[x]", markup=False) == "[x]"
    flood = terminal_text("\x1b]" + "A" * 1_000_000)
    assert flood == ""
    assert len(terminal_text("B" * 1_000_000)) == 2001


@pytest.mark.parametrize(
    ("header", "seconds"),
    [("30", 30.0), (" 0 ", 0.0), ("99999999999999999999", 86_400.0), ("-5", None),
     ("soon", None), ("1.5", None), (None, None),
     ("Thu, 01 Jan 1970 00:01:40 GMT", 40.0), ("Thu, 01 Jan 1970 00:00:00 GMT", 0.0)],
)
def test_retry_after_seconds(header: str | None, seconds: float | None) -> None:
    assert retry_after_seconds(header, now=60.0) == seconds
