"""The default data folder (XDG) and the check that commands other than ``serve`` make no database."""

from __future__ import annotations

from pathlib import Path

import pytest

from refgen.data_folder import default_data_dir, missing_database
from refgen.store.engine import sqlite_file


def test_data_folder_default_is_under_xdg_data_home() -> None:
    assert default_data_dir({"XDG_DATA_HOME": "/srv/share"}) == Path("/srv/share/refgen")


@pytest.mark.parametrize("xdg", [None, "", "relative/share"])
def test_data_folder_default_falls_back_to_local_share(xdg: str | None) -> None:
    environ = {} if xdg is None else {"XDG_DATA_HOME": xdg}
    assert default_data_dir(environ) == Path.home() / ".local" / "share" / "refgen"


def test_data_folder_default_does_not_depend_on_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "share"))
    seen = set()
    for folder in ("one", "two"):
        (tmp_path / folder).mkdir()
        monkeypatch.chdir(tmp_path / folder)
        seen.add(default_data_dir())
    assert seen == {tmp_path / "share" / "refgen"}


def test_data_folder_settings_default_to_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from refgen.settings import Settings

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    monkeypatch.delenv("REFGEN_DATA_DIR", raising=False)
    assert Settings().data_dir == tmp_path / "refgen"
    monkeypatch.setenv("REFGEN_DATA_DIR", str(tmp_path / "elsewhere"))
    assert Settings().data_dir == tmp_path / "elsewhere"


def test_data_folder_missing_sqlite_file_names_where_and_how(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'data' / 'refgen.db'}"
    problem = missing_database(url, configured=False)
    assert problem is not None and "\n" not in problem
    assert str(tmp_path / "data" / "refgen.db") in problem and "REFGEN_DATA_DIR" in problem
    configured = missing_database(url, configured=True)
    assert configured is not None and "REFGEN_DATABASE_URL" in configured
    assert not (tmp_path / "data").exists()


def test_data_folder_existing_or_server_databases_are_fine(tmp_path: Path) -> None:
    database = tmp_path / "refgen.db"
    database.touch()
    assert missing_database(f"sqlite:///{database}", configured=False) is None
    assert missing_database("postgresql://refgen@db/refgen", configured=True) is None
    assert missing_database("sqlite://", configured=True) is None
    assert sqlite_file("sqlite:///:memory:") is None
