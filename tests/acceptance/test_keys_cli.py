"""`refgen keys …` and the first start of `refgen serve`, as an operator uses them."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import time
from pathlib import Path

import pytest

from tests.acceptance.conftest import REFGEN, RunningServer, free_port

pytestmark = pytest.mark.slow


def run(
    env: dict[str, str], *args: str, check: bool = True, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [REFGEN, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=60, check=check
    )


def wait_for_a_registered_worker(env: dict[str, str], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not any(w["status"] == "alive" for w in json.loads(run(env, "workers", "--json").stdout)):
        assert time.monotonic() < deadline, "no worker registered"
        time.sleep(0.2)


def test_keys_create_list_revoke(tmp_path: Path) -> None:
    env = {**os.environ, "REFGEN_DATA_DIR": str(tmp_path / "data")}
    server = RunningServer(tmp_path / "data", free_port(), env, tmp_path / "server.log")
    server.start()  # creates the database (the other commands only use one)
    server.stop()
    run(env, "keys", "revoke", "default")
    created = run(env, "keys", "create", "--name", "alice", "--credits", "10", "--concurrency", "2")
    token = created.stdout.strip().splitlines()[-1]
    assert re.fullmatch(r"rg_[A-Za-z0-9_-]{40,}", token)
    listed = json.loads(run(env, "keys", "list", "--json").stdout)
    assert [(k["name"], k["credits"], k["concurrency"], k["revoked"]) for k in listed] == [
        ("default", None, 5, True),
        ("alice", 10, 2, False),
    ]
    assert token not in run(env, "keys", "list").stdout
    duplicate = run(env, "keys", "create", "--name", "alice", check=False)
    assert duplicate.returncode != 0 and "alice" in duplicate.stderr
    assert (tmp_path / "data" / "secret.key").stat().st_mode & 0o777 == 0o600
    database = (tmp_path / "data" / "refgen.db").read_bytes()
    assert token.encode() not in database, "the token is stored in plain text"
    run(env, "keys", "revoke", "alice")
    assert json.loads(run(env, "keys", "list", "--json").stdout)[1]["revoked"] is True
    missing = run(env, "keys", "revoke", "alice", check=False)
    assert missing.returncode != 0 and "no active key" in missing.stderr


def test_first_serve_hands_a_key_over_once_and_revocation_locks_it_out(tmp_path: Path) -> None:
    env = {**os.environ, "REFGEN_DATA_DIR": str(tmp_path / "data"), "PYTHONUNBUFFERED": "1"}
    server = RunningServer(tmp_path / "data", free_port(), env, tmp_path / "server.log")
    server.start()
    first_key = tmp_path / "data" / "first-key.txt"
    try:
        # stderr is a log file here, not a terminal: the token goes to an owner-only file, not the log
        tokens = re.findall(r"rg_[A-Za-z0-9_-]{40,}", first_key.read_text())
        assert len(tokens) == 1 and stat.S_IMODE(first_key.stat().st_mode) == 0o600
        assert tokens[0] not in server.log.read_text() and str(first_key) in server.log.read_text()
        wait_for_a_registered_worker(env)  # it has imported the store (and alembic) by then
        assert "setup plugin" not in server.log.read_text()  # neither the API nor the worker logs them
        server.token = tokens[0]
        with server.client() as client:
            assert client.get("/ent/v2/tasks/none/creations").json()["reason"] == "TaskNotFound"
        run(env, "keys", "revoke", "default")
        with server.client() as client:
            # creates, cancels and the balance look the key up every time: refused at once
            response = client.get("/ent/v2/credits")
            assert response.status_code == 401 and response.json()["reason"] == "Unauthorized"
            assert client.post("/ent/v2/tasks/none/cancel").status_code == 401
            # reads keep a key for a few seconds (KEY_CACHE_SECONDS), then refuse it too
            deadline = time.monotonic() + 60
            while (response := client.get("/ent/v2/tasks/none/creations")).status_code != 401:
                assert response.json()["reason"] == "TaskNotFound"
                assert time.monotonic() < deadline, "a revoked key still reads"
                time.sleep(0.2)
        assert response.json()["reason"] == "Unauthorized"
    finally:
        server.stop()
    first_key.unlink()
    server.start()
    server.stop()
    assert not first_key.exists(), "a second first key was made"
    assert not re.findall(r"rg_[A-Za-z0-9_-]{40,}", server.log.read_text())


def test_keys_data_folder_is_the_same_from_two_working_directories(tmp_path: Path) -> None:
    """No REFGEN_DATA_DIR: `serve` run in one folder and `keys create` in another share the
    per-user data folder, so the new key works on the running server."""
    env = {k: v for k, v in os.environ.items() if k != "REFGEN_DATA_DIR"}
    env.update(XDG_DATA_HOME=str(tmp_path / "xdg"), PYTHONUNBUFFERED="1")
    here, there = tmp_path / "here", tmp_path / "there"
    here.mkdir()
    there.mkdir()
    server = RunningServer(tmp_path / "xdg" / "refgen", free_port(), env, tmp_path / "server.log", cwd=here)
    server.start()
    try:
        made = run(env, "keys", "create", "--name", "elsewhere", cwd=there)
        server.token = made.stdout.strip().splitlines()[-1]
        with server.client() as client:
            assert client.get("/ent/v2/tasks/none/creations").json()["reason"] == "TaskNotFound"
    finally:
        server.stop()
    assert (tmp_path / "xdg" / "refgen" / "refgen.db").is_file()
    assert not (here / ".refgen").exists() and not (there / ".refgen").exists()
    assert f"data in {tmp_path / 'xdg' / 'refgen'}" in server.log.read_text()


@pytest.mark.parametrize("command", [("keys", "create", "--name", "x"), ("keys", "list"), ("workers",)])
def test_keys_commands_refuse_a_missing_database_in_one_line(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    env = {**os.environ, "REFGEN_DATA_DIR": str(tmp_path / "nowhere")}
    result = run(env, *command, check=False)
    [line] = result.stderr.strip().splitlines()
    assert result.returncode == 1 and result.stdout == ""
    assert line.startswith(f"error: no refgen database at {tmp_path / 'nowhere' / 'refgen.db'}")
    assert "REFGEN_DATA_DIR" in line and "refgen serve" in line
    assert not (tmp_path / "nowhere").exists()


def test_keys_bad_settings_are_one_line_each(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "REFGEN_DATA_DIR": str(tmp_path / "data"),
        "REFGEN_CALLBACK_RETRY_DELAYS": "5,x",
        "REFGEN_ALLOW_NETWORKS": "bogus",
        "REFGEN_HEARTBEAT_SECONDS": "abc",
    }
    result = run(env, "serve", "--port", str(free_port()), check=False)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 3, result.stderr
    assert sorted(line.split("=")[0] for line in lines) == [
        "error: REFGEN_ALLOW_NETWORKS",
        "error: REFGEN_CALLBACK_RETRY_DELAYS",
        "error: REFGEN_HEARTBEAT_SECONDS",
    ]
    assert "pydantic" not in result.stderr and "expected" in lines[0]


@pytest.mark.parametrize(
    ("setting", "extra"),
    [
        ({"REFGEN_DATABASE_URL": "postgresql://refgen@127.0.0.1:9/refgen"}, "postgres"),
        ({"REFGEN_STORAGE_URL": "s3://bucket/refgen"}, "s3"),
    ],
)
def test_keys_missing_extra_is_one_line_naming_the_pip_install(
    tmp_path: Path, setting: dict[str, str], extra: str
) -> None:
    """As on an install without the extra: its library cannot be imported (a sitecustomize says so)."""
    blocker = tmp_path / "without-extras"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text(
        'import sys\nsys.modules["psycopg"] = None\nsys.modules["boto3"] = None\n'
    )
    env = {
        **os.environ,
        **setting,
        "REFGEN_DATA_DIR": str(tmp_path / "data"),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(blocker), os.environ.get("PYTHONPATH")])),
    }
    result = run(env, "serve", "--port", str(free_port()), check=False)
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert len(errors) == 1 and f"pip install 'refgen[{extra}]'" in errors[0]
