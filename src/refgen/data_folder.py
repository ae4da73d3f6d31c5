"""Where a refgen server keeps its data when nothing says otherwise, and whether it is there.

The default data folder is per user, by the XDG base directory convention: ``$XDG_DATA_HOME/refgen``,
else ``~/.local/share/refgen``. It never depends on the working directory, so ``refgen keys create``
run from any folder finds the database that ``refgen serve`` created. ``REFGEN_DATA_DIR`` (and every
command's ``--data-dir``) points elsewhere.

Only ``refgen serve`` creates a database; the other server-side commands ask
:func:`missing_database` first and say where they looked instead of creating an empty one.

The folder is the owner's only: the folder 0700, the SQLite database and the secret 0600. The
database holds every key's token (encrypted under the secret) and the secret file can decrypt them,
so nobody else on the machine may read either. :func:`secure_data_dir` runs when a process opens its
database: it creates what is missing with these modes and tightens what exists with wider ones (a
data folder made by an older refgen, or copied with the umask's modes), saying so in one log line.
SQLite gives its ``-wal`` and ``-shm`` files the mode of the database file.
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from refgen.store.engine import sqlite_file
from refgen.tokens import SECRET_FILE

if TYPE_CHECKING:  # settings imports this module for its default folder
    from refgen.settings import Settings

log = logging.getLogger("refgen")

APP_NAME = "refgen"
DIR_MODE = 0o700
FILE_MODE = 0o600
SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")


def default_data_dir(environ: Mapping[str, str] | None = None) -> Path:
    """``$XDG_DATA_HOME/refgen``, else ``~/.local/share/refgen`` (a relative XDG_DATA_HOME is ignored,
    as the convention says)."""
    env = os.environ if environ is None else environ
    xdg = env.get("XDG_DATA_HOME", "")
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".local" / "share"
    return base / APP_NAME


def missing_database(database_url: str, *, configured: bool) -> str | None:
    """Why a command that only uses an existing database cannot run, or ``None`` when it can.

    A database server (PostgreSQL) is always taken to exist: it is created by its operator, and
    refgen migrates it. A SQLite file must exist; ``configured`` says whether REFGEN_DATABASE_URL
    named it (else it is the one in the data folder), to say which setting points elsewhere.
    """
    path = sqlite_file(database_url)
    if path is None or path.exists():
        return None
    where = (
        "set REFGEN_DATABASE_URL to the server's database"
        if configured
        else "point --data-dir or REFGEN_DATA_DIR at the server's data folder"
    )
    return (
        f"no refgen database at {path}; `refgen serve` creates it on its first start, "
        f"or {where} (`refgen serve` prints it)"
    )


def _tighten(path: Path, mode: int, tightened: list[str]) -> None:
    try:
        current = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return
    if current & ~mode:
        try:
            path.chmod(mode)
        except OSError as exc:
            log.warning("cannot restrict %s to its owner (mode %o): %s", path, current, exc)
            return
        tightened.append(f"{path.name} {current:o}->{mode:o}")


def secure_data_dir(settings: Settings) -> None:
    """Create the data folder (0700) and an empty SQLite database file (0600) if missing, and
    restrict to the owner the folder, the database (and its companions) and the secret file."""
    tightened: list[str] = []
    data_dir = settings.data_dir
    if data_dir.exists():
        _tighten(data_dir, DIR_MODE, tightened)
    else:
        data_dir.mkdir(mode=DIR_MODE, parents=True)
    _tighten(data_dir / SECRET_FILE, FILE_MODE, tightened)
    database = sqlite_file(settings.resolved_database_url)
    if database is not None:
        try:
            os.close(os.open(database, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
        except FileExistsError:
            pass
        except OSError as exc:  # a folder that does not exist: SQLite says so when it opens it
            log.debug("cannot create %s ahead of SQLite: %s", database, exc)
        for suffix in ("", *SQLITE_COMPANIONS):
            _tighten(database.with_name(database.name + suffix), FILE_MODE, tightened)
    if tightened:
        log.warning("restricted to the owner only: %s (in %s)", ", ".join(tightened), data_dir.resolve())
