"""CLI commands: ``secrets generate-kek`` and ``secrets rotate-kek``.

The key-encryption key (KEK) seals the signing keys and server secrets in the database.
Rotating it re-seals every one of them in one transaction; the old KEK is then no longer
needed (a server still running with it keeps the keys it has loaded until restarted).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..server.config.settings import Settings
from ..server.crypto.kek import configured_keks, local_kek_path, read_kek_file, write_kek_file
from ..store.repositories import StoredSecrets
from ..store.sealing import KekRing, SealError, generate_kek
from ._common import (
    EXIT_FAILED,
    admin_command,
    fail,
    load_settings,
    open_sealed_store,
)
from ._options import DatabaseUrlOption, JsonOption, KekFileOption
from ._output import print_json

__all__ = ["register"]

secrets_app = typer.Typer(help="The key-encryption key that seals the database's secrets.",
                          no_args_is_help=True)

NewKekFileOption = Annotated[str | None, typer.Option(
    "--new-kek-file", help="File holding the new KEK (make one with `generate-kek "
                           "--output`). Without it, an SQLite database's local key file "
                           "is replaced by a new key.")]


@admin_command(secrets_app, "generate-kek")
def generate(output: Annotated[str | None, typer.Option(
        "--output", help="Write the key to this new file (mode 0600) instead of printing it.")
        ] = None) -> None:
    """Make a random key-encryption key (for SCOPEGATE_KEK or SCOPEGATE_KEK_FILE)."""
    kek = generate_kek()
    if output is not None and not output.strip():
        fail("--output needs a file path, not an empty value")
    if output is None:
        typer.echo(kek)
        return
    path = Path(output)
    try:
        written = write_kek_file(path, [kek])
    except OSError as exc:
        fail(f"cannot write {path}: {exc.strerror or exc}")
    if not written:
        fail(f"{path} already exists; give a new file name", code=EXIT_FAILED)
    kek_id = KekRing.parse(kek, str(path)).primary.id
    typer.echo(f"wrote key-encryption key {kek_id} to {path} (mode 0600)")


def _new_keks(settings: Settings, new_kek_file: str | None) -> tuple[KekRing, Path | None]:
    """The KEK to re-seal under, and the local key file to replace (None: the operator
    points SCOPEGATE_KEK_FILE at the new file)."""
    try:
        if new_kek_file is not None:
            if not new_kek_file.strip():
                fail("--new-kek-file needs a file path, not an empty value")
            return read_kek_file(Path(new_kek_file), "--new-kek-file"), None
        local = local_kek_path(settings.database_url)
        if configured_keks(settings) is not None or local is None:
            fail("give --new-kek-file FILE with the new key-encryption key (make one with "
                 "`scopegate secrets generate-kek --output FILE`)")
        fresh = generate_kek()
        # The old key stays in the file until the re-sealing is committed, so a crash
        # half-way leaves a file that opens either state.
        write_kek_file(local, [fresh, *_texts(local)], replace=True)
        return KekRing.parse(fresh, str(local)), local
    except (SealError, OSError) as exc:
        fail(str(exc))


def _texts(path: Path) -> list[str]:
    return [line.strip() for line in path.read_text(encoding="ascii").splitlines()
            if line.strip() and not line.lstrip().startswith("#")]


@admin_command(secrets_app, "rotate-kek")
def rotate_kek(
    database_url: DatabaseUrlOption = None,
    kek_file: KekFileOption = None,
    new_kek_file: NewKekFileOption = None,
    as_json: JsonOption = False,
) -> None:
    """Re-seal every signing key and server secret under a new key-encryption key.

    One transaction: afterwards only the new KEK opens them. Restart the servers with it.
    """
    settings = load_settings(database_url=database_url, kek_file=kek_file)
    with open_sealed_store(settings) as (db, current):
        new, local = _new_keks(settings, new_kek_file)
        try:
            count = StoredSecrets(db).reseal(current, new)
        except SealError as exc:
            if local is not None:  # nothing was re-sealed: the new key is not needed
                write_kek_file(local, _texts(local)[1:], replace=True)
            fail(str(exc))
        if local is not None:
            write_kek_file(local, _texts(local)[:1], replace=True)  # drop the old key
    if as_json:
        print_json({"kek_id": new.primary.id, "resealed": count,
                    "key_file": str(local) if local else new_kek_file})
        return
    typer.echo(f"re-encrypted {count} secrets under key-encryption key {new.primary.id}")
    if local is not None:
        typer.echo(f"{local} now holds only the new key", err=True)
    else:
        typer.echo(f"set SCOPEGATE_KEK_FILE={new_kek_file} (or SCOPEGATE_KEK) and restart "
                   "every server; the old key-encryption key is no longer needed", err=True)


def register(app: typer.Typer) -> None:
    """Attach ``secrets`` to the root app."""
    app.add_typer(secrets_app, name="secrets")
