"""The token cache: key, subset lookup, expiry margin, old entries, file and keyring stores."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path

import httpx
import jwt
import keyring
import pytest
from keyring.backend import KeyringBackend

import scopegate.client._stores as cache_module
from scopegate.client import ClientCredentialsProvider, ScopegateAuth, Token, TokenSession
from scopegate.client._cache import TokenCache
from scopegate.client._exceptions import TokenStoreError
from scopegate.client._stores import FileTokenStore, KeyringFallbackWarning, PersistentTokenStore
from scopegate.scopes import scope_set_hash

from .conftest import API, ISSUER, FakeIssuer


def make_token(
    scopes: set[str],
    *,
    sub: str = "u1",
    aud: str = API,
    exp: float | None = None,
    client_id: str = "cli",
) -> Token:
    return Token(
        access_token=f"at-{sorted(scopes)}-{sub}",
        issuer=ISSUER,
        client_id=client_id,
        scopes=frozenset(scopes),
        subject=sub,
        audience=(aud,),
        expires_at=exp if exp is not None else time.time() + 3600,
    )


def test_key_has_issuer_client_audience_subject_and_scope_hash() -> None:
    token = make_token({"b", "a", "a"})
    assert token.cache_key == f"{ISSUER}|cli|{API}|u1|{scope_set_hash(['a', 'b'])}"
    assert make_token({"a", "b"}).cache_key == make_token({"b", "a"}).cache_key
    assert make_token({"a"}).cache_key != make_token({"a", "b"}).cache_key
    assert make_token({"a"}, sub="u2").cache_key != make_token({"a"}).cache_key


def test_lookup_is_required_subset_of_granted() -> None:
    cache = TokenCache()
    wide = make_token({"api", "apps:read", "apps:write"})
    cache.save(wide)
    assert cache.find(ISSUER, "cli", frozenset({"apps:read"})) == wide
    assert cache.find(ISSUER, "cli", frozenset()) == wide
    assert cache.find(ISSUER, "cli", frozenset({"keys:read"})) is None
    assert cache.find(ISSUER, "other-client", frozenset({"api"})) is None


def test_tokens_expire_early_by_the_margin() -> None:
    now = [1000.0]
    cache = TokenCache(margin=60, clock=lambda: now[0])
    cache.save(make_token({"api"}, exp=1100))
    assert cache.find(ISSUER, "cli", frozenset({"api"})) is not None
    now[0] = 1041
    assert cache.find(ISSUER, "cli", frozenset({"api"})) is None


def test_entries_from_older_versions_still_load(tmp_path: Path) -> None:
    access = jwt.encode(
        {"sub": "u9", "scp": ["api", "apps:read"], "aud": API, "exp": 4102444800},
        "k" * 32,
        algorithm="HS256",
    )
    old_entry = {
        "access_token": access,
        "issuer": ISSUER,
        "client_id": "cli",
        "refresh_token": "r1",
    }  # no "scopes", "subject" or "expires_at": written by v1
    opaque_entry = {"access_token": "opaque-1", "issuer": ISSUER, "client_id": "cli"}
    path = tmp_path / "tokens.json"
    path.write_text(json.dumps({"tokens": {"k1": old_entry, "k2": opaque_entry}}))
    cache = TokenCache(FileTokenStore(path))
    cache.reload()
    token = cache.find(ISSUER, "cli", frozenset({"apps:read"}))
    assert token is not None
    assert (token.subject, token.refresh_token, token.expires_at) == ("u9", "r1", 4102444800.0)
    assert len(cache.tokens(ISSUER, "cli")) == 2


def test_opaque_tokens_record_the_response_scope_else_the_requested_set() -> None:
    echoed = Token.from_response(
        {"access_token": "opaque", "token_type": "Bearer", "scope": "api"},
        issuer=ISSUER,
        client_id="c",
        requested=["api", "apps:write"],
    )
    silent = Token.from_response(
        {"access_token": "opaque", "token_type": "bearer"},
        issuer=ISSUER,
        client_id="c",
        requested=["api", "apps:write"],
    )
    assert echoed.scopes == {"api"}
    assert silent.scopes == {"api", "apps:write"}
    restored = Token.from_dict(silent.to_dict())
    assert restored.scopes == {"api", "apps:write"}


def test_file_store_is_0600_and_written_atomically(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "sub" / "tokens.json"
    cache = TokenCache(FileTokenStore(path))
    first = make_token({"api"})
    cache.save(first)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    before = path.read_bytes()

    def broken_replace(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(TokenStoreError, match="No space left"):
        cache.save(make_token({"api", "apps:write"}), replaces=[first])
    assert path.read_bytes() == before  # the old file is untouched
    assert [p.name for p in path.parent.iterdir() if p.name.endswith(".tmp")] == []


def test_file_store_reloads_only_when_the_file_changed(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    writer = TokenCache(FileTokenStore(path))
    reader_store = FileTokenStore(path)
    reader = TokenCache(reader_store)
    writer.save(make_token({"api"}))
    reader.reload()
    reader.reload()
    assert reader_store.reads == 1
    writer.save(make_token({"api", "apps:read"}))
    reader.reload()
    assert reader_store.reads == 2
    assert reader.find(ISSUER, "cli", frozenset({"apps:read"})) is not None


def test_a_cache_hit_reads_neither_file_nor_keyring(tmp_path: Path) -> None:
    fake = FakeIssuer()
    store = PersistentTokenStore(tmp_path / "tokens.json", use_keyring=False)
    cache = TokenCache(store)
    session = TokenSession(ClientCredentialsProvider(ISSUER, "svc", "s"), cache=cache)
    client = httpx.Client(transport=httpx.MockTransport(fake), auth=ScopegateAuth(session))
    with client:
        client.get(API + "/a")
        reads = store.file.reads
        stamp = (tmp_path / "tokens.json").stat().st_mtime_ns
        for _ in range(20):
            client.get(API + "/a")
    assert store.file.reads == reads
    assert (tmp_path / "tokens.json").stat().st_mtime_ns == stamp
    assert fake.token_hits == 1


class SlowKeyring(KeyringBackend):
    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()

    def get_password(self, service: str, username: str) -> str | None:
        self.release.wait(30)
        return None

    def set_password(self, service: str, username: str, password: str) -> None:
        self.release.wait(30)

    def delete_password(self, service: str, username: str) -> None:
        return None


def test_a_hanging_keyring_falls_back_to_the_file_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(cache_module, "_announced", False)
    backend = SlowKeyring()
    previous = keyring.get_keyring()
    keyring.set_keyring(backend)
    try:
        store = PersistentTokenStore(tmp_path / "tokens.json", timeout=0.2)
        cache = TokenCache(store)
        with warnings.catch_warnings(record=True) as warned:
            warnings.simplefilter("always")
            cache.save(make_token({"api"}))
        assert store.keyring is None
        assert stat.S_IMODE((tmp_path / "tokens.json").stat().st_mode) == 0o600
        assert "keyring did not answer within 0.2s" in caplog.text
        assert "storing tokens in" in caplog.text
        # The application logs: said there, once, and not again as a Python warning.
        assert not [w for w in warned if issubclass(w.category, KeyringFallbackWarning)]
        cache.save(make_token({"apps:read"}))  # announced once, no second warning needed
    finally:
        backend.release.set()
        keyring.set_keyring(previous)


class StoredKeyring(KeyringBackend):
    priority = 1  # type: ignore[assignment]

    def __init__(self, secret: str) -> None:
        super().__init__()
        self.secret: str | None = secret

    def get_password(self, service: str, username: str) -> str | None:
        return self.secret

    def set_password(self, service: str, username: str, password: str) -> None:
        self.secret = password

    def delete_password(self, service: str, username: str) -> None:
        self.secret = None


def test_a_corrupt_keyring_cache_is_ignored_with_a_warning_then_replaced(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    backend = StoredKeyring("[" * 200_000)
    previous = keyring.get_keyring()
    keyring.set_keyring(backend)
    try:
        cache = TokenCache(PersistentTokenStore(tmp_path / "tokens.json"))
        cache.reload()
        assert "token cache is nested too deeply; ignoring it" in caplog.text
        cache.save(make_token({"api"}))
    finally:
        keyring.set_keyring(previous)
    assert backend.secret is not None and json.loads(backend.secret)["version"] == 2


def test_processes_meeting_a_corrupt_cache_set_it_aside_once(tmp_path: Path) -> None:
    import subprocess
    import sys

    path = tmp_path / "tokens.json"
    path.write_text("{not json")
    script = (
        "import logging, sys; logging.basicConfig(level=logging.WARNING); "
        "from scopegate.client._stores import FileTokenStore; "
        "assert FileTokenStore(sys.argv[1]).load() == {}"
    )
    runs = [subprocess.Popen([sys.executable, "-c", script, str(path)],
                             stderr=subprocess.PIPE, text=True) for _ in range(6)]
    errors = [run.communicate(timeout=60)[1] for run in runs]
    assert [run.returncode for run in runs] == [0] * 6, errors
    assert sum("moved it to" in err for err in errors) == 1, errors
    assert len(list(tmp_path.glob("tokens.json.corrupt-*"))) == 1


FALLBACK_PROGRAM = """
from scopegate.client import session_from_env
session = session_from_env("svc")
session.cache.reload()
session.cache.reload()
"""


@pytest.mark.parametrize("command", [
    pytest.param([sys.executable, "-c", FALLBACK_PROGRAM], id="a program on the SDK"),
    pytest.param([str(Path(sys.executable).with_name("scopegate")), "status", "--env", "svc"],
                 id="scopegate status"),
])
def test_the_keyring_fallback_is_announced_once_per_process(
    tmp_path: Path, command: list[str]
) -> None:
    (tmp_path / "environments.json").write_text(json.dumps({"environments": {
        "svc": {"issuer": "http://127.0.0.1:9", "credentials": "creds.json"}}}))
    (tmp_path / "creds.json").write_text(json.dumps({"clientId": "a", "clientSecret": "b"}))
    (tmp_path / "creds.json").chmod(0o600)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCOPEGATE_") and k != "CI"}
    env.update(SCOPEGATE_CONFIG_DIR=str(tmp_path),
               PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring")
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert done.stderr.count("OS keyring unavailable") == 1, done.stderr


def test_the_account_name_is_stored_and_survives_a_refresh(tmp_path: Path) -> None:
    """``status`` after a refresh still names the person (the refresh carries no ID token)."""
    id_token = jwt.encode({"sub": "u-1", "email": "ada@example.com"}, "k" * 32, algorithm="HS256")
    first = Token.from_response({"access_token": "a1", "expires_in": 60, "id_token": id_token,
                                 "refresh_token": "r1"}, issuer=ISSUER, client_id="c",
                                requested=["openid"])
    assert first.account == "ada@example.com"
    cache = TokenCache(FileTokenStore(tmp_path / "tokens.json"))
    cache.save(first)
    again = TokenCache(FileTokenStore(tmp_path / "tokens.json"))
    again.reload()
    assert [t.account for t in again.tokens(ISSUER, "c")] == ["ada@example.com"]
    refreshed = Token.from_response({"access_token": "a2", "expires_in": 60}, issuer=ISSUER,
                                    client_id="c", requested=["openid"],
                                    previous_refresh_token="r1", previous_account=first.account)
    assert refreshed.account == "ada@example.com"
    hostile = jwt.encode({"email": "x\x1b[2J@example.com"}, "k" * 32, algorithm="HS256")
    assert Token.from_response({"access_token": "a3", "id_token": hostile}, issuer=ISSUER,
                               client_id="c", requested=[]).account is None
