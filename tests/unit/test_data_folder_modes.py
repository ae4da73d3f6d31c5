"""The data folder is the owner's only: tightened when it exists with wider modes (one log line).
A new folder, database and secret: ``tests/integration/store/test_data_dir_sqlite.py``."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

import pytest

from refgen.data_folder import secure_data_dir
from refgen.settings import Settings
from refgen.store.engine import sqlite_file
from refgen.tokens import SECRET_FILE


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_data_folder_wider_modes_are_tightened_at_start_with_one_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    data.chmod(0o755)
    for name, file_mode in (("refgen.db", 0o644), ("refgen.db-wal", 0o664), (SECRET_FILE, 0o640)):
        (data / name).write_bytes(b"")
        (data / name).chmod(file_mode)
    with caplog.at_level(logging.INFO, logger="refgen"):
        secure_data_dir(Settings(data_dir=data))
    assert (mode(data), mode(data / "refgen.db"), mode(data / "refgen.db-wal")) == (0o700, 0o600, 0o600)
    assert mode(data / SECRET_FILE) == 0o600
    (line,) = [r.getMessage() for r in caplog.records if r.name == "refgen"]
    assert "restricted to the owner only" in line and "refgen.db 644->600" in line

    caplog.clear()
    with caplog.at_level(logging.INFO, logger="refgen"):
        secure_data_dir(Settings(data_dir=data))  # nothing left to tighten: nothing said
    assert caplog.records == []


def test_data_folder_sqlite_file_only_for_sqlite_files(tmp_path: Path) -> None:
    assert sqlite_file(f"sqlite:///{tmp_path}/x.db") == tmp_path / "x.db"
    assert sqlite_file("sqlite://") is None
    assert sqlite_file("sqlite:///:memory:") is None
    assert sqlite_file("postgresql://u@h/db") is None
