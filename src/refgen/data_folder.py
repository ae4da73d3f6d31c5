"""Where a refgen server keeps its data when nothing says otherwise, and whether it is there.

The default data folder is per user, by the XDG base directory convention: ``$XDG_DATA_HOME/refgen``,
else ``~/.local/share/refgen``. It never depends on the working directory, so ``refgen keys create``
run from any folder finds the database that ``refgen serve`` created. ``REFGEN_DATA_DIR`` (and every
command's ``--data-dir``) points elsewhere.

Only ``refgen serve`` creates a database; the other server-side commands ask
:func:`missing_database` first and say where they looked instead of creating an empty one.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from sqlalchemy.engine import make_url

APP_NAME = "refgen"


def default_data_dir(environ: Mapping[str, str] | None = None) -> Path:
    """``$XDG_DATA_HOME/refgen``, else ``~/.local/share/refgen`` (a relative XDG_DATA_HOME is ignored,
    as the convention says)."""
    env = os.environ if environ is None else environ
    xdg = env.get("XDG_DATA_HOME", "")
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".local" / "share"
    return base / APP_NAME


def sqlite_file(database_url: str) -> Path | None:
    """The file of a SQLite database URL; ``None`` for an in-memory database or another server."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite":
        return None
    database = url.database or ""
    if database in ("", ":memory:") or database.startswith("file:"):
        return None
    return Path(database).expanduser()


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
