"""Every ``scopegate`` command, fed bad input, says so in one line and stores nothing.

The commands are found by walking the Click tree of the root app, so a new command or a
new option is covered (or fails here, asking for bad values) without editing this file's
cases. Each case asserts what a user or a script notices: exit code 1 or 2, exactly one
``error:`` line on stderr, no traceback, nothing on stdout, and not one row changed in
the database (every command runs against a seeded temporary SQLite file, with a
temporary config dir, so nobody's real files are touched).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import typer
from typer.core import TyperGroup
from typer.testing import CliRunner

from scopegate.cli.main import app
from scopegate.server.config.settings import Settings
from scopegate.server.state import prepare_database
from scopegate.store import Database
from scopegate.store.models.users import Membership, User, Workspace

SCOPEGATE = str(Path(sys.executable).with_name("scopegate"))
UNREACHABLE_PG = "postgresql+psycopg://nobody@127.0.0.1:1/x"
ROOT = typer.main.get_command(app)

#: Files the bad values below point at; written once per session by ``bad_files``.
FILES = {
    "missing": "does-not-exist.toml",
    "malformed": "malformed.toml",
    "not_utf8": "latin1.toml",
    "dangling": "dangling.toml",
    "not_a_db": "not-a-database.db",
}

#: Valid values for each command's required parameters, so a case breaks one thing only.
#: ``{key_id}`` and ``{client_id}`` name rows of the seeded database.
BASELINE: dict[str, list[str]] = {
    "clients create": ["--name", "ci-bot"],
    "clients delete": ["{client_id}"],
    "clients rotate-secret": ["{client_id}"],
    "users create": ["--email", "new@example.com", "--password-stdin"],
    "users set-password": ["--email", "admin@example.com", "--password-stdin"],
    "users disable": ["--email", "admin@example.com"],
    "users enable": ["--email", "admin@example.com"],
    "users sessions": ["--email", "admin@example.com"],
    "users end-sessions": ["--email", "admin@example.com"],
    "workspaces create": ["beta"],
    "workspaces add-member": ["acme", "--email", "admin@example.com"],
    "keys create": ["--email", "admin@example.com", "--scope", "apps:read"],
    "keys revoke": ["{key_id}"],
    "keys rotate": ["{key_id}"],
    "routes check": ["tests.cli.routes_check_apps:good"],
    "resources add": ["https://new.example/api", "--scope", "apps:read"],
    "resources remove": ["https://seeded.example/api"],
    "env add": ["prod", "--issuer", "https://auth.example.com"],
    "env remove": ["prod"],
}
STDIN = {"users create": "s3cret-passw0rd\n", "users set-password": "s3cret-passw0rd\n"}

#: Bad values per option or argument. A new value-taking option must be added here.
BAD_VALUES: dict[str, list[str]] = {
    "--database-url": ["nonsense", UNREACHABLE_PG, "sqlite://", "sqlite:///{not_a_db}",
                       "sqlite:////proc/no/such/dir/x.db"],
    "--catalog": ["{missing}", "{malformed}", "{not_utf8}", "{dangling}", ""],
    "--scope": ["", "a b", '"', "no-such-scope"],
    "--grant": ["", "password", "implicit"],
    "--redirect-uri": ["http://[::1", "http://x/ a", "http://127.0.0.1:99999/",
                       "http://example.com/cb", "https://x/#f", "ftp://x"],
    "--resource-server": ["", "not a uri", "api.example", "https://x/#f", "http://[::1",
                          "https://x/" + "a" * 3000],
    "--expires-in": ["abc", "-1", "0", "1y", "1" + "0" * 30, "999999999w"],
    "--grace": ["abc", "-1h", "8d", ""],
    "--email": ["", "not-an-email", "two@@example.com"],
    "--role": ["", "god", "Admin"],
    "--name": ["", "a\nb", "nul\x00byte", "x" * 300],
    "--workspace": ["", "no-such-workspace"],
    "--alg": ["HS256", "none", ""],
    "--host": ["", "no such host!"],
    "--port": ["abc", "0", "70000"],
    "--workers": ["abc", "0"],
    "--forwarded-allow-ips": ["proxy.internal", "10.0.0.0/33", "10.0.0.1;10.0.0.2", "*x"],
    "--login-failures-per-account-address": ["abc", "0", "-1", "100001", "1.5"],
    "--login-failures-per-address": ["abc", "0", "-5"],
    "--login-first-wait": ["abc", "0", "-1", "nan", "86401"],
    "--login-max-wait": ["abc", "0", "inf", "nan", "1e9"],
    "--login-failure-reset": ["abc", "0", "nan", "inf", "2592001"],
    "--session-idle-ttl": ["abc", "0", "-1", "50000", "9" * 12],
    "--session-absolute-ttl": ["abc", "0", "60", "9" * 12],
    "--redis-url": ["", "http://127.0.0.1:6379", "127.0.0.1:6379"],
    "--registration": ["", "maybe", "OPEN!"],
    "--registration-initial-tokens": ["not-a-hash", "abc,def", "g" * 64],
    "--registration-per-address": ["abc", "0", "-1", "1.5"],
    "--registration-window": ["abc", "0", "nan", "inf"],
    "--registration-unused-ttl": ["abc", "0", "-1"],
    "--access-token-ttl": ["abc", "0", "9" * 12],
    "--refresh-token-ttl": ["abc", "0"],
    "--code-ttl": ["abc", "-1"],
    "--device-code-ttl": ["abc", "0"],
    "--max-age": ["abc", "-1", "1.5"],
    "--device-interval": ["abc", "0", "3601"],
    "--par-ttl": ["abc", "0", "4", "601"],
    "--signing-alg": ["HS256", "none", ""],
    "--max-body-bytes": ["abc", "10"],
    "--api-key-prefix": ["", "Not A Prefix"],
    "--client-cache-ttl": ["abc", "-1", "nan"],
    "--management-audience": ["not a uri", "https://x/#f"],
    "--session": ["", "ses_000000000000000000000000"],
    "--issuer": ["not a url", "ftp://x", "https://x/?q=1", "https://x:99999"],
    "--env": ["no-such-env", ""],
    "--api": ["", "not a url", "ftp://x", "http://api.example.com/mcp", "https://x:99999",
              "http://127.0.0.1:1/mcp"],
    "--client-id": ["", "a\nb"],
    "--kek-file": ["{missing}", "{malformed}", "{not_a_db}", ""],
    "--new-kek-file": ["{missing}", "{malformed}", ""],
    "--output": ["", "{malformed}", "/proc/no/such/dir/kek"],
    "client_id": ["", "sgc_" + "x" * 5000],
    "key_id": ["", "no-such-key"],
    "name": ["", "a\nb", "x" * 101],
    "app_path": ["", "no_such_module:app", "os:no_such_attr", "json:loads"],
    "url": ["", "not a url", "api.example", "ftp://x", "https://x/#f", "http://[::1",
            "HTTPS://X/api", "https://x/" + "a" * 3000, "https://api.scopegate.example"],
}
#: Options whose every value is valid (flags are skipped by type, not listed here).
FREE_VALUES: frozenset[str] = frozenset()
#: (command, option) -> values valid there though bad elsewhere. ``env add`` runs offline:
#: only the issuer knows its catalog, and it refuses an unknown scope at login.
VALID_HERE: dict[tuple[str, str], frozenset[str]] = {
    ("env add", "--scope"): frozenset({"no-such-scope"}),
}


@dataclass(frozen=True)
class Case:
    """One command line that must fail cleanly."""

    command: str
    args: tuple[str, ...]
    why: str

    def __str__(self) -> str:
        return f"{self.command}: {self.why}"


def walk(command: object = ROOT, path: tuple[str, ...] = ()) -> Iterator[tuple[str, object]]:
    """Every leaf command of the tree, with its path (``'clients create'``)."""
    if isinstance(command, TyperGroup):
        for name, sub in sorted(command.commands.items()):
            yield from walk(sub, (*path, name))
    else:
        yield " ".join(path), command


def _name(param: object) -> str:
    opts = getattr(param, "opts", [])
    return str(opts[0] if getattr(param, "param_type_name", "") == "option" else
               getattr(param, "name", ""))


def _replace(args: list[str], param: object, value: str) -> list[str]:
    """``args`` with ``param`` set to ``value`` (replacing a baseline value if any)."""
    name = _name(param)
    if getattr(param, "param_type_name", "") == "argument":
        positional = [a for a in args if not a.startswith("-")]
        index = args.index(positional[0]) if positional else 0
        rest = args[index + 1:] if positional else args
        return [*args[:index], value, *rest]
    if name in args:
        index = args.index(name)
        return [*args[:index], name, value, *args[index + 2:]]
    return [*args, name, value]


def cases() -> Iterator[Case]:
    for path, command in walk():
        params = getattr(command, "params", [])
        baseline = BASELINE.get(path, [])
        yield Case(path, (*path.split(), *baseline, "--no-such-flag"), "unknown flag")
        if any(getattr(p, "required", False) for p in params):
            yield Case(path, tuple(path.split()), "required parameters missing")
        for param in params:
            name = _name(param)
            if getattr(param, "is_flag", False) or name in FREE_VALUES:
                continue
            if getattr(param, "param_type_name", "") == "option":
                yield Case(path, (*path.split(), *baseline, name), f"{name} without a value")
            for value in BAD_VALUES.get(name, []):
                if value in VALID_HERE.get((path, name), frozenset()):
                    continue
                args = _replace(list(baseline), param, value)
                if name == "--redirect-uri":
                    args += ["--grant", "authorization_code"]
                yield Case(path, (*path.split(), *args), f"{name}={value[:40]!r}")


ALL_CASES = list(cases())


def test_every_value_taking_parameter_has_bad_values() -> None:
    missing = sorted({f"{path} {_name(p)}" for path, command in walk()
                      for p in getattr(command, "params", [])
                      if not getattr(p, "is_flag", False) and _name(p) not in BAD_VALUES
                      and _name(p) not in FREE_VALUES})
    assert missing == [], f"add bad values for: {missing}"


def test_every_command_with_required_parameters_has_a_baseline() -> None:
    needing = {path for path, command in walk()
               if any(getattr(p, "required", False) for p in getattr(command, "params", []))}
    assert needing <= set(BASELINE), f"add a valid baseline for: {needing - set(BASELINE)}"


@pytest.mark.parametrize("path", [p for p, _ in walk()])
def test_every_command_documents_its_exit_codes(path: str) -> None:
    command = dict(walk())[path]
    text = f"{getattr(command, 'help', '')} {getattr(command, 'epilog', '')}"
    assert re.search(r"Exit codes: 0 [^;,]+[;,] 1 .+ 2 ", text), text


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A prepared database with a user, a workspace, a client and a key; bad files."""
    root = tmp_path_factory.mktemp("bad-input")
    url = f"sqlite:///{root / 'seed.db'}"
    db = Database(url)
    prepare_database(db, Settings.from_env(database_url=url))
    with db.session() as session:
        session.add(User(id="usr_a", email="admin@example.com", password_hash="x",
                         role="admin"))
        session.add(Workspace(id="ws_1", name="acme"))
        session.flush()
        session.add(Membership(user_id="usr_a", workspace_id="ws_1", role="admin"))
    db.dispose()
    runner = CliRunner()
    env = {"SCOPEGATE_DATABASE_URL": url}
    client = runner.invoke(app, ["clients", "create", "--name", "seed", "--json"], env=env)
    key = runner.invoke(app, ["keys", "create", "--email", "admin@example.com",
                              "--scope", "apps:read", "--json"], env=env)
    resource = runner.invoke(app, ["resources", "add", "https://seeded.example/api",
                                   "--scope", "apps:read"], env=env)
    assert client.exit_code == 0 and key.exit_code == 0, client.output + key.output
    assert resource.exit_code == 0, resource.output
    (root / FILES["malformed"]).write_text("[scopes\nnot toml")
    (root / FILES["not_utf8"]).write_bytes("[scopes.caf\xe9]\n".encode("latin-1"))
    (root / FILES["dangling"]).write_text('[scopes.x]\ndescription = "x"\nimplies = ["y"]\n')
    (root / FILES["not_a_db"]).write_text("just text\n")
    files = {key_: str(root / name) for key_, name in FILES.items()}
    return {**files, "db": str(root / "seed.db"), "root": str(root),
            "client_id": client.stdout.split('"client_id":"')[1].split('"')[0],
            "key_id": key.stdout.split('"id":"')[1].split('"')[0]}


def row_counts(path: str) -> dict[str, int]:
    with sqlite3.connect(path) as conn:
        tables = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def environment(seeded: dict[str, str], tmp_path: Path,
                monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """A private copy of the seeded database, an empty config dir, no keyring, no server."""
    import uvicorn

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("serve started a server despite the bad input")

    monkeypatch.setattr(uvicorn, "run", refuse)
    shutil.copy(seeded["db"], tmp_path / "cli.db")
    shutil.copy(seeded["db"] + ".kek", tmp_path / "cli.db.kek")  # the key file goes with it
    for name in ("SCOPEGATE_ENV", "SCOPEGATE_CATALOG_PATH", "SCOPEGATE_ISSUER", "CI"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "config").mkdir()
    return {"SCOPEGATE_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
            "SCOPEGATE_CONFIG_DIR": str(tmp_path / "config"), "SCOPEGATE_NO_KEYRING": "1",
            "SCOPEGATE_PORT": str(free_port()), "SCOPEGATE_HOST": "127.0.0.1"}


def assert_clean_failure(code: int, out: str, err: str, what: str) -> None:
    assert code in (1, 2), f"{what}: exit {code}\n{out}{err}"
    assert "Traceback" not in out + err, f"{what}:\n{err}"
    errors = [line for line in err.splitlines() if line.lower().startswith("error:")]
    assert len(errors) == 1, f"{what}: want one error line, got:\n{err}"
    assert len(errors[0]) > len("error: ") + 8, errors[0]
    assert out == "", f"{what}: printed on stdout despite failing:\n{out}"


@pytest.mark.parametrize("case", ALL_CASES, ids=str)
def test_bad_input_fails_in_one_line_and_stores_nothing(
        case: Case, seeded: dict[str, str], environment: dict[str, str]) -> None:
    args = [a.format(**seeded) for a in case.args]
    db_path = environment["SCOPEGATE_DATABASE_URL"].removeprefix("sqlite:///")
    before = row_counts(db_path)
    result = CliRunner().invoke(app, args, env=environment, input=STDIN.get(case.command))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    assert_clean_failure(result.exit_code, result.stdout, result.stderr, str(case))
    assert row_counts(db_path) == before, f"{case}: the database changed"


@pytest.mark.parametrize(("args", "code", "message"), [
    (["clients", "create", "--name", "x", "--scope", "a b"], 2, "invalid scope token"),
    (["clients", "create", "--name", "x", "--grant", "authorization_code",
      "--redirect-uri", "http://[::1"], 2, "invalid host or port"),
    (["clients", "create", "--name", "x", "--grant", "authorization_code",
      "--redirect-uri", "http://example.com/cb"], 2, "only on loopback"),
    (["clients", "create", "--name", "a\nb"], 2, "control characters"),
    (["resources", "add", "https://seeded.example/api", "--scope", "apps:run"], 1,
     "registered already"),
    (["resources", "add", "https://x.example", "--scope", "apps:read", "--scope", "no"], 2,
     "unknown scope"),
    (["clients", "list", "--database-url", UNREACHABLE_PG], 2, "cannot connect"),
    (["clients", "list", "--database-url", "sqlite://"], 2, "in-memory"),
    (["clients", "list", "--database-url", "sqlite:///{not_a_db}"], 2, "not a database"),
    (["clients", "delete", "no-such-client"], 1, "no client"),
    (["scopes", "list", "--catalog", "{not_utf8}"], 2, "not UTF-8"),
    (["scopes", "list", "--catalog", "{dangling}"], 2, "implies unknown scope 'y'"),
    (["users", "create", "--email", "admin@example.com", "--password-stdin"], 1, "exists"),
    (["users", "create", "--email", "x@example.com", "--password-stdin", "--role", "god"], 2,
     "unknown role 'god'"),
    (["workspaces", "add-member", "nope", "--email", "admin@example.com"], 1,
     "no workspace named"),
    (["keys", "create", "--email", "admin@example.com", "--scope", "apps:read",
      "--expires-in", "abc"], 2, "expires_in must be"),
    (["keys", "create", "--email", "nobody@example.com", "--scope", "apps:read"], 1,
     "no user"),
    (["keys", "revoke", "no-such-key"], 1, "no API key"),
    (["signing-keys", "rotate", "--alg", "HS256"], 2, "ES256 or EdDSA"),
    (["db", "upgrade", "--database-url", "sqlite:////proc/no/such/dir/x.db"], 2,
     "cannot use the database"),
    (["serve", "--issuer", "not a url"], 2, "(--issuer) must be an absolute http(s) URL"),
    (["routes", "check", ""], 2, "cannot load"),
    (["serve", "--kek-file", "{missing}"], 2, "No such file"),
    (["secrets", "rotate-kek", "--new-kek-file", "{malformed}"], 2, "base64url of 32"),
    (["secrets", "generate-kek", "--output", "{malformed}"], 1, "already exists"),
    (["token", "--env", "dev"], 2, "no environments yet; run: scopegate env add"),
    (["env", "add", "dev", "--issuer", "http://auth.example.com"], 2, "clear text"),
    (["env", "add", "dev", "--issuer", "https://auth.example.com?x=1"], 2, "no ?query"),
    (["env", "add", "a b", "--issuer", "https://auth.example.com"], 2, "environment name"),
    (["env", "remove", "dev"], 1, "no environment named 'dev'"),
    (["login", "--scope", ""], 2, "--scope needs a scope name"),
    (["clients", "lst"], 2, "Did you mean 'list'"),
])
def test_exit_codes_and_messages(args: list[str], code: int, message: str,
                                 seeded: dict[str, str], environment: dict[str, str]) -> None:
    result = CliRunner().invoke(app, [a.format(**seeded) for a in args], env=environment,
                                input="s3cret-passw0rd\n")
    assert_clean_failure(result.exit_code, result.stdout, result.stderr, " ".join(args))
    assert result.exit_code == code, result.stderr
    assert message in result.stderr


@pytest.mark.parametrize("variable", ["SCOPEGATE_PORT=abc", "SCOPEGATE_ACCESS_TOKEN_TTL=-5",
                                      "SCOPEGATE_ACCESS_TOKEN_TTL=" + "9" * 30,
                                      "SCOPEGATE_CLIENT_CACHE_TTL=nan",
                                      "SCOPEGATE_SIGNING_ALG=none",
                                      "SCOPEGATE_FEATURE_METRICS=maybe",
                                      "SCOPEGATE_LOGIN_MAX_WAIT=0",
                                      "SCOPEGATE_FORWARDED_ALLOW_IPS=proxy.internal",
                                      "SCOPEGATE_SESSION_IDLE_TTL=0",
                                      "SCOPEGATE_SESSION_ABSOLUTE_TTL=600",
                                      "SCOPEGATE_DPOP_NONCE=maybe"])
def test_bad_settings_in_the_environment(variable: str, environment: dict[str, str]) -> None:
    name, _, value = variable.partition("=")
    for args in (["clients", "list"], ["signing-keys", "rotate"], ["serve"]):
        result = CliRunner().invoke(app, args, env={**environment, name: value})
        assert_clean_failure(result.exit_code, result.stdout, result.stderr, f"{args} {name}")
        assert result.exit_code == 2


def test_a_database_that_fails_mid_command_is_exit_1(seeded: dict[str, str],
                                                    environment: dict[str, str]) -> None:
    read_only = f"sqlite:///file:{environment['SCOPEGATE_DATABASE_URL'][10:]}?mode=ro&uri=true"
    result = CliRunner().invoke(app, ["clients", "create", "--name", "x",
                                      "--database-url", read_only], env=environment)
    assert_clean_failure(result.exit_code, result.stdout, result.stderr, "read-only")
    assert result.exit_code == 1 and "readonly database" in result.stderr
    assert "INSERT" not in result.stderr  # no SQL, no parameters (they may hold secrets)


def test_a_fresh_database_is_not_created_by_bad_input(tmp_path: Path,
                                                      environment: dict[str, str]) -> None:
    url = f"sqlite:///{tmp_path / 'fresh' / 'never.db'}"
    for args in (["clients", "create", "--name", "x", "--scope", "nope"],
                 ["keys", "create", "--email", "a@example.com", "--scope", "nope"],
                 ["keys", "create", "--email", "a@example.com", "--scope", "apps:read",
                  "--expires-in", "soon"],
                 ["users", "create", "--email", "a@example.com", "--password-stdin",
                  "--role", "god"],
                 ["workspaces", "create", "a\nb"]):
        result = CliRunner().invoke(app, [*args, "--database-url", url], env=environment,
                                    input="s3cret-passw0rd\n")
        assert result.exit_code == 2, result.stderr
        assert not (tmp_path / "fresh" / "never.db").exists(), args


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield int(listener.getsockname()[1])


def run_real(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([SCOPEGATE, *args], env={**os.environ, **env}, capture_output=True,
                          text=True, timeout=60, check=False)


def test_in_a_real_process(environment: dict[str, str], busy_port: int) -> None:
    """The installed console script: what a shell script actually sees."""
    expectations = [
        (["clients", "create", "--name", "x", "--scope", "a b"], 2, "invalid scope token"),
        (["db", "upgrade", "--database-url", UNREACHABLE_PG], 2, "Connection refused"),
        (["serve", "--port", str(busy_port)], 1, "in use"),
        (["--no-such-flag"], 2, "No such option"),
    ]
    for args, code, message in expectations:
        done = run_real(*args, env=environment)
        assert_clean_failure(done.returncode, done.stdout, done.stderr, " ".join(args))
        assert done.returncode == code and message in done.stderr, done.stderr


def test_a_password_that_is_not_utf8_is_refused(environment: dict[str, str]) -> None:
    """Bytes a C locale reads as surrogates used to reach argon2 and crash there."""
    done = subprocess.run(
        [SCOPEGATE, "users", "create", "--email", "bytes@example.com", "--password-stdin"],
        input=b"pass\xff\xfeword123\n", env={**os.environ, **environment},
        capture_output=True, timeout=60, check=False)
    out, err = done.stdout.decode(), done.stderr.decode()
    assert_clean_failure(done.returncode, out, err, "non-UTF-8 password")
    assert done.returncode == 2 and "not UTF-8" in err
