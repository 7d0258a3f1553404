"""OAuth clients: register one, rotate its secret, delete it, list them.

A confidential client's secret is generated here and stored only as a hash keyed by the
server's pepper (a sealed secret); the plain secret is returned once, for the caller to
show. Check the input first with :func:`.client_spec.client_spec`.
"""

from __future__ import annotations

from datetime import datetime

from ...store import Database
from ...store.repositories import ClientRecord, ClientRepository, SecretRepository
from ...store.repositories.clients import Registration
from ...store.sealing import KekRing
from ...tokens import hash_client_secret, new_client_id, new_client_secret
from ..state import PEPPER_SECRET
from .client_spec import ClientSpec
from .errors import Invalid, NotFound, quoted
from .notify import client_changed, client_deleted

__all__ = ["Registration", "client_pepper", "delete_client", "find_client", "list_clients",
           "prune_unused_clients", "record_client_use", "register_client",
           "replace_registered_client", "rotate_client_secret"]


def client_pepper(db: Database, keks: KekRing) -> str:
    """The server's client-secret pepper, unsealed (made on first use)."""
    return SecretRepository(db, keks).get_or_create(PEPPER_SECRET)


def register_client(db: Database, pepper: str, spec: ClientSpec, *,
                    registration: Registration | None = None, client_id: str | None = None
                    ) -> tuple[ClientRecord, str]:
    """Store a new client in one insert; return it and its secret ("" for a public one).

    :param registration: set when the client registers itself (RFC 7591): its
        registration access token's hash and the metadata it sent.
    :param client_id: the id to use (a metadata document's URL); a new random one if None.
    """
    secret = "" if spec.public else new_client_secret()
    record = ClientRepository(db).create(
        client_id=client_id or new_client_id(), name=spec.name,
        secret_hash=None if spec.public else hash_client_secret(pepper, secret),
        grant_types=spec.grant_types, allowed_scopes=spec.allowed_scopes,
        default_scopes=spec.default_scopes, redirect_uris=spec.redirect_uris,
        resource_servers=spec.resource_servers, registration=registration)
    client_changed(db, record.client_id)  # replicas may remember it as unknown
    return record, secret


def replace_registered_client(db: Database, client_id: str, spec: ClientSpec,
                              metadata: dict[str, object]) -> ClientRecord:
    """Replace what a self-registered client said about itself (RFC 7592 §2.2); its id,
    secret and registration access token stay.

    :raises NotFound: no such self-registered client.
    """
    record = ClientRepository(db).replace_registered(
        client_id, name=spec.name, grant_types=spec.grant_types,
        redirect_uris=spec.redirect_uris, allowed_scopes=spec.allowed_scopes,
        default_scopes=spec.default_scopes, metadata=metadata)
    if record is None:
        raise NotFound(f"no self-registered client {quoted(client_id)}")
    client_changed(db, client_id)
    return record


def rotate_client_secret(db: Database, pepper: str, client_id: str) -> str:
    """Give a confidential client a new secret (the old one stops working at once).

    :raises NotFound: no such client.
    :raises Invalid: a public client (it has no secret).
    """
    repo = ClientRepository(db)
    client = repo.get(client_id)
    if client is None:
        raise NotFound(f"no client {quoted(client_id)}")
    if client.is_public:
        raise Invalid(f"client {quoted(client_id)} is public: it has no secret to rotate")
    secret = new_client_secret()
    if not repo.set_secret_hash(client_id, hash_client_secret(pepper, secret)):
        raise NotFound(f"no client {quoted(client_id)}")
    client_changed(db, client_id)
    return secret


def delete_client(db: Database, client_id: str) -> None:
    """Delete a client; every replica refuses it and its tokens within a second (events).

    :raises NotFound: no such client.
    """
    if not ClientRepository(db).delete(client_id):
        raise NotFound(f"no client {quoted(client_id)}")
    client_deleted(db, client_id)


def list_clients(db: Database) -> list[ClientRecord]:
    """Every client, oldest first."""
    return ClientRepository(db).list()


def find_client(db: Database, client_id: str) -> ClientRecord | None:
    """The client, read from the store now (no cache), or None."""
    return ClientRepository(db).get(client_id)


def record_client_use(db: Database, client_id: str, when: datetime) -> None:
    """Note that a self-registered client obtained a token (it is not pruned as unused)."""
    ClientRepository(db).mark_used(client_id, when)


def prune_unused_clients(db: Database, cutoff: datetime, limit: int) -> int:
    """Delete up to ``limit`` self-registered public clients unused since ``cutoff``."""
    return ClientRepository(db).prune_unused(cutoff, limit)
