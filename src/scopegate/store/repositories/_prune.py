"""The one batched delete every repository's ``prune`` uses.

Expired rows are chosen by a keyed sub-select capped at ``limit`` and deleted in one short
transaction, so the minute maintenance pass never holds a long lock on a large backlog.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from ..db import Database

__all__ = ["delete_in_batch"]


def delete_in_batch(db: Database, key: Any, *where: Any, limit: int | None = None) -> int:
    """Delete the rows of ``key``'s table matching ``where``; return how many (≤ ``limit``).

    :param key: the primary-key column (e.g. ``UserSession.id``) that names each row.
    """
    doomed = sa.select(key).where(*where)
    if limit is not None:
        doomed = doomed.limit(limit)
    with db.session() as session:
        result = session.execute(sa.delete(key.class_).where(key.in_(doomed))
                                 .execution_options(synchronize_session=False))
        return int(result.rowcount)  # type: ignore[attr-defined]
