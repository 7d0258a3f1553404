"""While a device login waits, the spinner counts down for real: the seconds to the next
check and the time left on the code, second by second, not one line frozen between polls."""

from __future__ import annotations

import io
import time

import httpx
import pytest
from rich.console import Console

from scopegate.client._device import DeviceCodeProvider, DevicePrompt, RichDeviceDisplay
from scopegate.client._flow import drive_sync
from scopegate.client._locks import LockRegistry

from .loopback_issuer import PUBLIC_ID, Answer, LoopbackIssuer, Received


class Clock:
    """A monotonic clock the test moves; a sleep of N seconds reads the display each second."""

    def __init__(self, display: RichDeviceDisplay) -> None:
        self.now = 1000.0
        self.display = display
        self.seen: list[str] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        for _ in range(round(seconds)):
            self.seen.append(self.display.text().removeprefix("Waiting for approval… "))
            self.now += 1


def test_the_countdown_ticks_between_polls_and_follows_slow_down(server: LoopbackIssuer) -> None:
    server.overrides["/oauth/device_authorization"] = lambda _: Answer(200, {
        "device_code": "dc", "user_code": "ABCD", "expires_in": 600, "interval": 3,
        "verification_uri": server.url + "/device"})
    answers = [Answer(400, {"error": "authorization_pending"}),
               Answer(400, {"error": "slow_down"})]

    def token(_: Received) -> Answer:
        return answers.pop(0) if answers else Answer(200, server.mint({"api"}))

    server.overrides["/oauth/token"] = token
    display = RichDeviceDisplay(Console(file=io.StringIO()))
    clock = display.monotonic = Clock(display)
    provider = DeviceCodeProvider(server.url, PUBLIC_ID, display=display, monotonic=clock)
    with httpx.Client() as http:
        got = drive_sync(provider.acquire_flow(frozenset({"api"})), http.send, LockRegistry(),
                         clock.sleep)
    assert got.scopes == {"api"}
    assert clock.seen[:6] == [
        "next check in 3s, code expires in 10:00",
        "next check in 2s, code expires in 9:59",
        "next check in 1s, code expires in 9:58",
        "next check in 3s, code expires in 9:57",  # pending: the same interval again
        "next check in 2s, code expires in 9:56",
        "next check in 1s, code expires in 9:55",
    ]
    assert clock.seen[6] == "next check in 8s, code expires in 9:54"  # slow_down: +5 s
    assert clock.seen[-1] == "next check in 1s, code expires in 9:47"
    assert len(clock.seen) == 3 + 3 + 8


def test_the_terminal_shows_the_seconds_go_down_while_waiting() -> None:
    screen = io.StringIO()
    display = RichDeviceDisplay(Console(file=screen, force_terminal=True, width=100))
    display.show(DevicePrompt("ABCD", "https://auth.example.com/device", None, 90.0, 2.0))
    time.sleep(1.4)  # the spinner redraws on its own, between polls
    display.close()
    shown = screen.getvalue()
    assert "next check in 2s, code expires in 1:30" in shown
    assert "next check in 1s, code expires in 1:29" in shown


@pytest.mark.parametrize(("left", "shown"), [(0.2, "0:01"), (-5.0, "0:00")])
def test_the_countdown_never_shows_a_negative_time(left: float, shown: str) -> None:
    display = RichDeviceDisplay(Console(file=io.StringIO()), monotonic=lambda: 0.0)
    display.update(left, 5.0)
    assert display.text().endswith(f"code expires in {shown}")
