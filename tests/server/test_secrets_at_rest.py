"""Secrets at rest: the signing keys, the session secret and the client-secret pepper are
sealed under a key-encryption key kept outside the database, so a copy of the database
alone neither signs a token nor opens a session."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from starlette.testclient import TestClient

from scopegate.server.app import create_app
from scopegate.server.config.settings import Settings
from scopegate.server.state import ServerState
from scopegate.store import Database
from scopegate.store.models import utcnow
from scopegate.store.repositories import ClientRepository, StoredSecrets
from scopegate.store.sealing import KekRing, SealError, generate_kek
from scopegate.tokens import generate_key, hash_client_secret, new_client_secret

from .conftest import fresh_database_url, settings_for


def raw_secrets(url: str) -> list[str]:
    """What a copy of the database holds in the secret columns, read as an attacker would."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            keys = conn.execute(sa.text("SELECT private_pem FROM signing_keys")).scalars()
            values = list(keys)
            values += conn.execute(sa.text("SELECT value FROM server_secrets")).scalars()
        return values
    finally:
        engine.dispose()


def assert_sealed(values: list[str], *cleartexts: str) -> None:
    for value in values:
        assert "PRIVATE KEY" not in value
        assert all(secret not in value for secret in cleartexts)
        with pytest.raises(ValueError):
            load_pem_private_key(value.encode(), password=None)


def test_no_private_key_session_secret_or_pepper_is_stored_in_the_clear(
        state: ServerState, settings: Settings) -> None:
    values = raw_secrets(settings.database_url)
    assert len(values) >= 4  # the ES256 and RS256 keys, the pepper, the session secret
    assert_sealed(values, state.pepper, state.session_secret)


def test_the_database_with_another_kek_starts_nothing(state: ServerState,
                                                      settings: Settings) -> None:
    other = settings_for(settings.database_url, kek=generate_kek(), kek_file=None)
    with pytest.raises(SealError, match="key-encryption key"), TestClient(create_app(other)):
        pass


def test_a_copy_of_the_sqlite_file_without_its_key_file_signs_nothing(tmp_path: Path) -> None:
    (tmp_path / "live").mkdir()
    (tmp_path / "stolen").mkdir()
    live = settings_for(f"sqlite:///{tmp_path / 'live' / 'scopegate.db'}")
    with TestClient(create_app(live)) as http:
        assert http.get("/jwks.json").status_code == 200
    assert (tmp_path / "live" / "scopegate.db.kek").exists()
    shutil.copy(tmp_path / "live" / "scopegate.db", tmp_path / "stolen" / "scopegate.db")
    stolen = settings_for(f"sqlite:///{tmp_path / 'stolen' / 'scopegate.db'}")
    with pytest.raises(SealError, match="key file"), TestClient(create_app(stolen)):
        pass
    assert not (tmp_path / "stolen" / "scopegate.db.kek").exists()  # no new key made up


@pytest.fixture(params=["sqlite", "postgres"])
def legacy_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database written before secrets were sealed: keys, pepper and session in the clear."""
    for url in fresh_database_url(request.param, request, tmp_path):
        db = Database(url)
        db.upgrade()
        with db.engine.begin() as conn:
            for key in (generate_key("ES256"), generate_key("RS256")):
                conn.execute(sa.text(
                    "INSERT INTO signing_keys (kid, alg, private_pem, created_at) "
                    "VALUES (:kid, :alg, :pem, :now)"),
                    {"kid": key.kid, "alg": key.alg, "pem": key.private_pem(), "now": utcnow()})
            for name, value in (("client_secret_pepper", "legacy-pepper-" + "p" * 30),
                                ("session_secret", "legacy-session-" + "s" * 30)):
                conn.execute(sa.text(
                    "INSERT INTO server_secrets (name, value, created_at) "
                    "VALUES (:name, :value, :now)"), {"name": name, "value": value,
                                                       "now": utcnow()})
        db.dispose()
        yield url


def test_cleartext_rows_from_before_are_sealed_on_first_start_and_keep_working(
        legacy_url: str) -> None:
    assert sum("PRIVATE KEY" in value for value in raw_secrets(legacy_url)) == 2
    db = Database(legacy_url)
    secret = new_client_secret()
    ClientRepository(db).create(
        client_id="legacy-bot", name="bot",
        secret_hash=hash_client_secret("legacy-pepper-" + "p" * 30, secret),
        grant_types=["client_credentials"], allowed_scopes=["api"], default_scopes=["api"])
    db.dispose()
    with TestClient(create_app(settings_for(legacy_url))) as http:
        state: ServerState = http.app.state.server  # type: ignore[attr-defined]
        assert state.pepper == "legacy-pepper-" + "p" * 30
        assert state.session_secret == "legacy-session-" + "s" * 30
        issued = http.post("/oauth/token", data={"grant_type": "client_credentials"},
                           auth=("legacy-bot", secret))
        assert issued.status_code == 200, issued.text
        published = {k["kid"] for k in http.get("/jwks.json").json()["keys"]}
    assert jwt.get_unverified_header(issued.json()["access_token"])["kid"] in published
    after = raw_secrets(legacy_url)
    assert len(after) == 4
    assert_sealed(after, state.pepper, state.session_secret)
    with TestClient(create_app(settings_for(legacy_url))) as http:  # a second start
        assert http.post("/oauth/token", data={"grant_type": "client_credentials"},
                         auth=("legacy-bot", secret)).status_code == 200


def test_a_running_server_keeps_signing_after_the_kek_is_rotated_under_it(
        tmp_path: Path) -> None:
    old, new = generate_kek(), generate_kek()
    settings = settings_for(f"sqlite:///{tmp_path / 'scopegate.db'}", kek=old)
    with TestClient(create_app(settings)) as http:
        state: ServerState = http.app.state.server  # type: ignore[attr-defined]
        before = http.get("/jwks.json").json()
        resealed = StoredSecrets(state.db).reseal(KekRing.parse(old, "old"),
                                                  KekRing.parse(new, "new"))
        assert resealed >= 4
        state.signing_keys.reload()  # the periodic reload: keys already loaded are not reopened
        assert http.get("/jwks.json").json() == before
        assert state.signing_keys.signer.kid in {k["kid"] for k in before["keys"]}
    with pytest.raises(SealError), TestClient(create_app(settings)):
        pass  # restarted with the old KEK: refused
    with TestClient(create_app(settings_for(settings.database_url, kek=new))) as http:
        assert http.get("/jwks.json").json() == before
