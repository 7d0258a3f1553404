"""The README's tour runs as written: its bash block, read from README.md, in a fresh bash.

A new user copies the tour's commands into a shell, in order. This test does the same with
the text of the README itself (so an edit to the tour is tested as edited): every command
must exit 0, and a trailing comment ``→ text`` is a promise that ``text`` is in what the
command prints. The only changes are the ports (two free ones for 8000 and 8001), a
temporary home directory, and a person's hands: a thread signs in on the device page the
login prints, with the email and password the tour created, and presses Allow.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
TOUR_HEADING = "## A tour in five minutes"
VENV = Path(sys.executable).parent.parent
PORTS = ("8000", "8001")
# ~30 s of CPU in all (20 CLI starts, the server, the API, a device-flow poll of 5 s); the
# bound is wide because the suite runs on 2 shared cores.
TOUR_TIMEOUT_S = 240  # the server's and the example API's, as the tour spells them


@dataclass(frozen=True)
class Command:
    """One command of the tour, and what its comment says it prints."""

    text: str
    expect: str | None

    @property
    def background(self) -> bool:
        return self.text.rstrip().endswith("&")


def tour_text() -> str:
    """The tour section of README.md."""
    text = README.read_text(encoding="utf-8")
    start = text.index(TOUR_HEADING)
    end = text.find("\n## ", start + len(TOUR_HEADING))
    return text[start:end if end != -1 else None]


def _comment_start(line: str) -> int:
    """Where a trailing ``# comment`` starts (outside quotes), or -1."""
    quote = ""
    for i, char in enumerate(line):
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#" and (i == 0 or line[i - 1].isspace()):
            return i
    return -1


def tour_commands(section: str) -> list[Command]:
    """The commands of the section's ```bash blocks: continuation lines joined, heredocs
    kept whole, full-line comments dropped, ``→ text`` taken from a trailing comment."""
    lines = [line for block in re.findall(r"```bash\n(.*?)```", section, re.S)
             for line in block.splitlines()]
    commands: list[Command] = []
    current: list[str] = []
    expect: str | None = None
    while lines:
        line = lines.pop(0)
        if not current and (not line.strip() or line.lstrip().startswith("#")):
            continue
        cut = _comment_start(line)
        if cut >= 0:
            comment, line = line[cut + 1:].strip(), line[:cut].rstrip()
            expect = comment.split("→", 1)[1].strip() if "→" in comment else expect
        current.append(line)
        heredoc = re.search(r"<<-?\s*['\"]?(\w+)['\"]?", line)
        while heredoc and lines:  # the body, up to its terminator, belongs to the command
            current.append(lines.pop(0))
            if current[-1].strip() == heredoc.group(1):
                break
        if not line.endswith("\\"):
            commands.append(Command("\n".join(current), expect))
            current, expect = [], None
    return commands


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_the_tour_is_parsed_into_its_commands() -> None:
    commands = tour_commands(tour_text())
    assert commands[0].text == ".venv/bin/scopegate serve &" and commands[0].background
    heredoc = next(c for c in commands if "<<EOF" in c.text)
    assert heredoc.text.endswith("\nEOF") and '"client_id": "$CLI_ID"' in heredoc.text
    token = next(c for c in commands if "/oauth/token" in c.text)
    assert token.text.startswith("TOKEN=") and token.text.count("\n") == 1
    assert "json access_token)" in token.text and token.expect is None  # no → in its comment


def test_the_tour_shows_what_a_new_user_needs_and_says_what_each_call_returns() -> None:
    """A login, the example API started with its guard's credentials, and the API called
    with a client's token, an API key and the login's token; a call whose answer is not
    checked (curl without -f, nothing parsed) says what it returns."""
    commands = tour_commands(tour_text())
    texts = [c.text for c in commands]
    assert any("scopegate login" in t for t in texts)
    example = next(c for c in commands if "-m examples.example_api" in c.text)
    assert "SCOPEGATE_GUARD_CLIENT_SECRET=" in example.text and example.background
    assert "--resource-server" in " ".join(texts)
    api_calls = [c for c in commands if "curl" in c.text and "127.0.0.1:8001/workspaces" in c.text]
    assert {"$TOKEN", "$KEY", "scopegate token"} <= {
        used for c in api_calls for used in ("$TOKEN", "$KEY", "scopegate token") if used in c.text}
    for command in commands:
        checked = command.expect or "curl -sf" in command.text or "| json" in command.text
        assert "curl" not in command.text or checked, command.text


def test_every_scopegate_variable_the_readme_names_is_read_by_something() -> None:
    """A documented variable nothing reads (SCOPEGATE_CATALOG) is a setting silently lost."""
    from scopegate.cli._unknown_settings import unknown_variables

    text = README.read_text(encoding="utf-8")
    # SCOPEGATE_LOGIN_* and SCOPEGATE_FEATURE_<NAME> are families; …_TTL is shorthand.
    named = {m.group(1) for m in re.finditer(
        r"(?<![…\w])(SCOPEGATE_[A-Z0-9_]*[A-Z0-9])(?![\w*<])", text)}
    assert "SCOPEGATE_CATALOG_PATH" in named
    assert unknown_variables(named) == []


def test_the_readme_names_the_first_and_the_last_migration() -> None:
    versions = sorted(p.stem for p in (ROOT / "src/scopegate/store/migrations/versions")
                      .glob("[0-9]*.py"))
    assert f"(`{versions[0]}` … `{versions[-1]}`)" in README.read_text(encoding="utf-8")

def _script(commands: list[Command], outputs: Path) -> str:
    """Bash that runs each command as typed, keeping its output and exit status apart."""
    steps = []
    for i, command in enumerate(commands):
        steps.append(f"{{ {command.text}\n}} > {outputs}/{i}.out 2> {outputs}/{i}.err\n"
                     f"rc=$?; echo $rc > {outputs}/{i}.rc; [ $rc = 0 ] || exit 1\n")
    return "".join(steps)


def _with_ports(text: str, ports: dict[str, int]) -> str:
    for spelled, port in ports.items():
        text = text.replace(f"127.0.0.1:{spelled}", f"127.0.0.1:{port}")
    return text


def _clone(tmp_path: Path) -> Path:
    """A directory that looks like the clone the tour starts in: ``.venv`` and ``examples``."""
    clone = tmp_path / "clone"
    clone.mkdir()
    (clone / ".venv").symlink_to(VENV)
    (clone / "examples").symlink_to(ROOT / "examples")
    return clone


def _environment(home: Path, ports: dict[str, int]) -> dict[str, str]:
    """The user's shell: a fresh home, none of our variables, no OS keyring, not CI; the
    server and the example API listen on the free ports (the tour's own commands name
    them, rewritten by :func:`_with_ports`)."""
    env = {name: value for name, value in os.environ.items()
           if not name.startswith(("SCOPEGATE_", "XDG_")) and name != "CI"}
    return {**env, "HOME": str(home), "SCOPEGATE_PORT": str(ports["8000"]),
            "SCOPEGATE_EXAMPLE_PORT": str(ports["8001"]), "SCOPEGATE_NO_KEYRING": "1",
            "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
            "COLUMNS": "200"}  # a terminal wide enough that tables do not wrap a URL


def _approve_device_login(outputs: Path, email: str, password: str,
                          done: threading.Event) -> None:
    """What the person does: open the URL the login prints, sign in, press Allow."""
    while not done.wait(0.2):
        printed = "".join(p.read_text(errors="replace") for p in outputs.glob("*.err"))
        found = re.search(r"(http://\S+)/device\?user_code=(\S+)", printed)
        if found:
            break
    else:
        return
    with httpx.Client(base_url=found.group(1), timeout=20) as browser:
        page = browser.get("/login", params={"next": "/device"})
        browser.post("/login", data={"csrf": _hidden(page.text, "csrf"), "email": email,
                                     "password": password, "next": "/device"})
        page = browser.get("/device", params={"user_code": found.group(2)})
        confirm = browser.post("/device", data={"csrf": _hidden(page.text, "csrf"),
                                                "user_code": _hidden(page.text, "user_code")})
        fields = dict(re.findall(r'type="hidden" name="([^"]+)" value="([^"]*)"', confirm.text))
        browser.post("/device", data={**fields, "decision": "approve"})


def _hidden(html: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert found, f"no field {name!r} on the page"
    return found.group(1)


def _report(commands: list[Command], outputs: Path, i: int) -> str:
    err = (outputs / f"{i}.err").read_text(errors="replace") if (outputs / f"{i}.err").exists() \
        else ""
    return f"tour command {i + 1}:\n{commands[i].text}\nstderr:\n{err[-2000:]}"


@pytest.mark.skipif(shutil.which("curl") is None or shutil.which("bash") is None,
                    reason="the tour needs bash and curl")
@pytest.mark.skipif(not (VENV / "bin" / "scopegate").exists(),
                    reason="the tour runs .venv/bin/scopegate: run the tests from a venv")
@pytest.mark.timeout(TOUR_TIMEOUT_S + 30)
def test_every_command_of_the_readme_tour_works_as_written(tmp_path: Path) -> None:
    section = tour_text()
    person = re.search(r"echo '([^']+)' \| \S*scopegate users create --email (\S+)", section)
    assert person, "the tour creates the user it logs in as"
    ports = {spelled: free_port() for spelled in PORTS}
    commands = [Command(_with_ports(c.text, ports), c.expect and _with_ports(c.expect, ports))
                for c in tour_commands(section)]
    outputs = tmp_path / "outputs"
    outputs.mkdir()
    (tmp_path / "home").mkdir()
    done = threading.Event()
    hands = threading.Thread(target=_approve_device_login,
                             args=(outputs, person.group(2), person.group(1), done))
    hands.start()
    shell = subprocess.Popen(["bash", "-c", _script(commands, outputs)], cwd=_clone(tmp_path),
                             env=_environment(tmp_path / "home", ports),
                             stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        shell.wait(timeout=TOUR_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        pass
    finally:
        done.set()
        hands.join()
        os.killpg(shell.pid, signal.SIGKILL)  # the server and the API if the tour stopped
        shell.wait()
    ran = [i for i in range(len(commands)) if (outputs / f"{i}.rc").exists()]
    failed = [i for i in ran if (outputs / f"{i}.rc").read_text().strip() != "0"]
    stopped = failed or [len(ran)] if len(ran) < len(commands) else []
    assert not stopped, _report(commands, outputs, stopped[0])
    broken = [f"{_report(commands, outputs, i)}\nexpected {c.expect!r} in:\n{printed[-1500:]}"
              for i, c in enumerate(commands) if c.expect is not None
              and c.expect not in (printed := _printed(outputs, i))]
    assert not broken, "\n\n".join(broken)


def _printed(outputs: Path, i: int) -> str:
    return (outputs / f"{i}.out").read_text(errors="replace") + \
        (outputs / f"{i}.err").read_text(errors="replace")
