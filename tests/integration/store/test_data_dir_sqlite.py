"""A new data folder on SQLite is the owner's only: the folder 0700, the database, its WAL
companions and the secret 0600, even under a umask that would let everyone read them."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from refgen.resources import open_engine
from refgen.settings import Settings
from refgen.tokens import SECRET_FILE, load_or_create_secret


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def wide_umask() -> Iterator[None]:
    old = os.umask(0o000)  # the worst case: everything would be world-readable and writable
    yield
    os.umask(old)


def test_data_dir_new_folder_database_and_secret_are_owner_only(tmp_path: Path, wide_umask: None) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    engine = open_engine(settings)
    try:
        load_or_create_secret(settings.data_dir, None)
        with engine.connect() as connection:  # WAL: SQLite keeps its companions while connected
            connection.exec_driver_sql("SELECT count(*) FROM tasks")
            companions = sorted(settings.data_dir.glob("refgen.db-*"))
            assert [p.name for p in companions] == ["refgen.db-shm", "refgen.db-wal"]
            assert [mode(p) for p in companions] == [0o600, 0o600]
    finally:
        engine.dispose()
    assert mode(settings.data_dir) == 0o700
    assert mode(settings.data_dir / "refgen.db") == 0o600
    assert mode(settings.data_dir / SECRET_FILE) == 0o600
