"""Every sealed column at once: seal what an older scopegate stored in the clear, check
that the configured KEKs open everything, and re-seal under a new KEK (rotation)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..db import Database
from ..models import ServerSecret, SigningKey
from ..sealing import SEALED_PREFIX, KekRing, is_sealed
from .keys import secret_row, signing_key_row

__all__ = ["StoredSecrets"]


@dataclass(frozen=True, slots=True)
class _Cell:
    """One secret cell: the ORM row, the column attribute, and the row's name (the AAD)."""

    owner: SigningKey | ServerSecret
    column: str
    row: str

    @property
    def value(self) -> str:
        text: str = getattr(self.owner, self.column)
        return text

    def write(self, text: str) -> None:
        setattr(self.owner, self.column, text)


def _cells(session: Session) -> Iterator[_Cell]:
    for key in session.scalars(sa.select(SigningKey).with_for_update()):
        yield _Cell(key, "private_pem", signing_key_row(key.kid, key.alg))
    for secret in session.scalars(sa.select(ServerSecret).with_for_update()):
        yield _Cell(secret, "value", secret_row(secret.name))


class StoredSecrets:
    """The signing-key and server-secret columns of one database, as a whole."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def any_sealed(self) -> bool:
        """Whether some secret is already sealed (so a KEK for this database exists)."""
        pattern = SEALED_PREFIX + "%"
        with self.db.session() as session:
            keys = sa.select(SigningKey.kid).where(SigningKey.private_pem.like(pattern))
            named = sa.select(ServerSecret.name).where(ServerSecret.value.like(pattern))
            return session.execute(keys.union_all(named).limit(1)).first() is not None

    def seal_and_check(self, keks: KekRing) -> int:
        """Seal every secret stored in the clear and open every sealed one, in ONE
        transaction: after it nothing is in the clear and the KEKs are known to be right.

        :returns: how many cleartext secrets were sealed.
        :raises SealError: a sealed secret does not open (nothing is written).
        """
        sealed = 0
        with self.db.session() as session:
            for cell in _cells(session):
                if is_sealed(cell.value):
                    keks.open(cell.value, cell.row)
                else:
                    cell.write(keks.seal(cell.value, cell.row))
                    sealed += 1
        return sealed

    def reseal(self, current: KekRing, new: KekRing) -> int:
        """Re-seal every secret under ``new``'s first KEK, in ONE transaction.

        On PostgreSQL the two tables are locked against writers meanwhile, so a key added
        by a concurrent ``signing-keys rotate`` cannot stay sealed by the old KEK.

        :returns: how many secrets were re-sealed.
        :raises SealError: a secret does not open with ``current`` (nothing is written).
        """
        count = 0
        with self.db.session() as session:
            if not self.db.is_sqlite:
                session.execute(sa.text(
                    "LOCK TABLE signing_keys, server_secrets IN SHARE ROW EXCLUSIVE MODE"))
            for cell in _cells(session):
                plain = current.open(cell.value, cell.row) if is_sealed(cell.value) \
                    else cell.value
                cell.write(new.seal(plain, cell.row))
                count += 1
        return count
