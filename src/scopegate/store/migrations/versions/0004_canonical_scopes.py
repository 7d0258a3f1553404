"""Rename legacy scope names already stored (``all`` -> ``scopegate:all``, ...).

A data migration: API keys, clients (allowed and default scopes) and consents are read
row by row in Python and rewritten only where a name changes, so the same code runs on
SQLite and PostgreSQL whatever JSON type the column has. The mapping comes from the
catalog: every alias maps to its canonical name on upgrade, and every canonical name with
an alias maps back to its legacy name (the first alias) on downgrade. The catalog is the
bundled default unless the caller puts one in ``config.attributes["scopegate_catalog"]``.

Revision ID: 0004_canonical_scopes
Revises: 0003_api_keys
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import sqlalchemy as sa
from alembic import op

from scopegate.scopes import Catalog, ScopeDef, default_catalog

revision = "0004_canonical_scopes"
down_revision = "0003_api_keys"
branch_labels = None
depends_on = None

# table -> (primary-key columns, scope columns)
SCOPE_COLUMNS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "api_keys": (("id",), ("scopes",)),
    "clients": (("client_id",), ("allowed_scopes", "default_scopes")),
    "consents": (("user_id", "client_id"), ("scopes",)),
}


def _catalog() -> Catalog:
    config = op.get_context().config
    found = config.attributes.get("scopegate_catalog") if config is not None else None
    return found if isinstance(found, Catalog) else default_catalog()


def _definitions(catalog: Catalog) -> Iterable[ScopeDef]:
    return catalog.__iter__()  # Catalog.__iter__ is typed as Iterable, not Iterator


def legacy_to_canonical(catalog: Catalog) -> dict[str, str]:
    """Every alias in the catalog and the canonical name it stands for."""
    return {alias: scope.name for scope in _definitions(catalog) for alias in scope.aliases}


def canonical_to_legacy(catalog: Catalog) -> dict[str, str]:
    """Every canonical name that has an alias and its legacy (first) alias."""
    return {scope.name: scope.legacy_name for scope in _definitions(catalog) if scope.aliases}


def rename(value: Any, mapping: Mapping[str, str]) -> Any:
    """Return ``value`` with its names renamed, or None when no name needs renaming.

    A JSON list stays a sorted, de-duplicated list; a space-delimited string stays one.
    """
    if isinstance(value, list):
        names = [name for name in value if isinstance(name, str)]
    elif isinstance(value, str):
        names = value.split()
    else:
        return None
    if not any(name in mapping for name in names):
        return None
    renamed = sorted({mapping.get(name, name) for name in names})
    return renamed if isinstance(value, list) else " ".join(renamed)


def _rewrite(mapping: Mapping[str, str]) -> None:
    bind = op.get_bind()
    for table_name, (keys, columns) in SCOPE_COLUMNS.items():
        table = sa.table(table_name, *(sa.column(k) for k in keys),
                         *(sa.column(c, sa.JSON) for c in columns))
        rows = bind.execute(sa.select(*table.c)).mappings().all()
        for row in rows:
            changes = {}
            for column in columns:
                new = rename(row[column], mapping)
                if new is not None:
                    changes[column] = new
            if changes:
                where = sa.and_(*(table.c[k] == row[k] for k in keys))
                bind.execute(sa.update(table).where(where).values(**changes))


def upgrade() -> None:
    _rewrite(legacy_to_canonical(_catalog()))


def downgrade() -> None:
    _rewrite(canonical_to_legacy(_catalog()))
