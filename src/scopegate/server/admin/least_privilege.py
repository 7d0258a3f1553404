"""Least privilege (seed 004): which granted scopes a client or API key actually used, and
the one action that narrows it.

"Used" comes from the guards' usage reports: the scopes the routes a caller reached
needed. A need that was granted as such credits that scope alone; a need met only through
implication (``apps:all`` covering ``apps:read``, the catalog decides) credits every
granted scope that covers it. The suggested set is the needs themselves, never wider than
what was granted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from ...scopes import Catalog
from ...store import Database
from ...store.repositories.api_key_records import ApiKeyRecord
from ...store.repositories.api_keys import ApiKeyError, ApiKeyNotFound, ApiKeyRepository
from ...store.repositories.clients import ClientRecord, ClientRepository
from ...store.repositories.usage import UsageRepository
from .audit import audit
from .errors import Invalid, NotFound, quoted
from .notify import client_changed

__all__ = ["Grant", "grants_in_use", "narrow_client", "narrow_key"]


@dataclass(frozen=True, slots=True)
class Grant:
    """A client's or key's granted scopes against what it used in the window."""

    kind: str  # "client" or "key"
    id: str
    name: str
    granted: tuple[str, ...]
    used: tuple[str, ...]
    unused: tuple[str, ...]
    suggested: tuple[str, ...]


def _grant(catalog: Catalog, kind: str, ident: str, name: str, granted: tuple[str, ...],
           needs: set[str]) -> Grant:
    credited = {n for n in needs if n in granted}
    credited |= {g for n in needs if n not in granted for g in granted
                 if catalog.covers([g], [n])}
    used = tuple(g for g in granted if g in credited)
    suggested = tuple(sorted(n for n in needs if catalog.covers(granted, [n])))
    return Grant(kind, ident, name, granted, used,
                 tuple(g for g in granted if g not in used), suggested)


def grants_in_use(db: Database, catalog: Catalog, keys: list[ApiKeyRecord], now: datetime,
                  days: int) -> list[Grant]:
    """Every client and every active key of ``keys`` with its use over ``days`` days."""
    used = UsageRepository(db).scopes_used(now - timedelta(days=days))
    by_key: dict[str, set[str]] = {}
    by_client: dict[str, set[str]] = {}
    for (client_id, key_id), scopes in used.items():
        (by_key.setdefault(key_id, set()) if key_id else
         by_client.setdefault(client_id, set())).update(scopes)
    rows = [_grant(catalog, "client", c.client_id, c.name, tuple(sorted(c.allowed_scopes)),
                   by_client.get(c.client_id, set()))
            for c in ClientRepository(db).list() if c.allowed_scopes]
    rows += [_grant(catalog, "key", k.id, k.name,
                    tuple(sorted(catalog.stored_key_scopes(k.scopes))),
                    by_key.get(k.id, set()))
             for k in keys if k.status(now) == "active"]
    return rows


def _kept(catalog: Catalog, granted: frozenset[str], keep: list[str]) -> frozenset[str]:
    kept = frozenset(keep)
    if not kept:
        raise Invalid("keep at least one scope (to take every scope away, revoke instead)")
    wider = sorted(s for s in kept if not catalog.covers(granted, [s]))
    if wider:
        raise Invalid(f"narrowing cannot add scopes: {', '.join(wider)}")
    return kept


def narrow_client(db: Database, catalog: Catalog, client_id: str, keep: list[str],
                  actor: str | None) -> ClientRecord:
    """From now on the client may request only ``keep`` (tokens it holds run out as usual).

    :raises NotFound: no such client. :raises Invalid: ``keep`` is empty or wider.
    """
    repo = ClientRepository(db)
    current = repo.get(client_id)
    if current is None:
        raise NotFound(f"no client {quoted(client_id)}")
    record = repo.set_scopes(client_id, _kept(catalog, current.allowed_scopes, keep))
    if record is None:
        raise NotFound(f"no client {quoted(client_id)}")
    client_changed(db, client_id)
    audit("client.narrowed", actor, client_id=client_id, scopes=sorted(record.allowed_scopes))
    return record


def narrow_key(repo: ApiKeyRepository, catalog: Catalog, key_id: str, keep: list[str],
               grace: timedelta, actor: str | None) -> tuple[ApiKeyRecord, str]:
    """Replace the key by one holding ``keep``; the old key works for ``grace`` more.

    :raises NotFound: no such key. :raises Invalid: empty, wider, or the key is not active.
    """
    try:
        current = repo.get(key_id)
        kept = _kept(catalog, catalog.stored_key_scopes(current.scopes), keep)
        record, secret = repo.narrow(key_id, kept, repo.clock() + grace)
    except ApiKeyNotFound as exc:
        raise NotFound(str(exc)) from None
    except ApiKeyError as exc:
        raise Invalid(str(exc)) from None
    audit("api_key.narrowed", actor, key_id=key_id, new_key_id=record.id,
          scopes=sorted(kept), grace_s=int(grace.total_seconds()))
    return record, secret
