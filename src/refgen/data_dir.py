"""The data folder is the owner's only: the folder 0700, the SQLite database and the secret 0600.

The database holds every key's token (encrypted under the secret) and the secret file can decrypt
them, so nobody else on the machine may read either. :func:`secure_data_dir` runs when a process
opens its database: it creates what is missing with these modes and tightens what exists with
wider ones (a data folder made by an older refgen, or copied with the umask's modes), saying so in
one log line. SQLite gives its ``-wal`` and ``-shm`` files the mode of the database file.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

from sqlalchemy.engine import make_url

from refgen.settings import Settings
from refgen.tokens import SECRET_FILE

log = logging.getLogger("refgen")

DIR_MODE = 0o700
FILE_MODE = 0o600
SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")


def sqlite_path(database_url: str) -> Path | None:
    """The file of a SQLite URL (None for another database or an in-memory SQLite)."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return Path(url.database)


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
    database = sqlite_path(settings.resolved_database_url)
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
