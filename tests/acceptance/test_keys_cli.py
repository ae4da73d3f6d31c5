"""`refgen keys …` and the first start of `refgen serve`, as an operator uses them."""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from pathlib import Path

import pytest

from tests.acceptance.conftest import REFGEN, RunningServer, free_port

pytestmark = pytest.mark.slow


def run(env: dict[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run([REFGEN, *args], env=env, capture_output=True, text=True, timeout=60, check=check)


def test_keys_create_list_revoke(tmp_path: Path) -> None:
    env = {**os.environ, "REFGEN_DATA_DIR": str(tmp_path / "data")}
    created = run(env, "keys", "create", "--name", "alice", "--credits", "10", "--concurrency", "2")
    token = created.stdout.strip().splitlines()[-1]
    assert re.fullmatch(r"rg_[A-Za-z0-9_-]{40,}", token)
    listed = json.loads(run(env, "keys", "list", "--json").stdout)
    assert [(k["name"], k["credits"], k["concurrency"], k["revoked"]) for k in listed] == [
        ("alice", 10, 2, False)
    ]
    assert token not in run(env, "keys", "list").stdout
    duplicate = run(env, "keys", "create", "--name", "alice", check=False)
    assert duplicate.returncode != 0 and "alice" in duplicate.stderr
    assert (tmp_path / "data" / "secret.key").stat().st_mode & 0o777 == 0o600
    database = (tmp_path / "data" / "refgen.db").read_bytes()
    assert token.encode() not in database, "the token is stored in plain text"
    run(env, "keys", "revoke", "alice")
    assert json.loads(run(env, "keys", "list", "--json").stdout)[0]["revoked"] is True
    missing = run(env, "keys", "revoke", "alice", check=False)
    assert missing.returncode != 0 and "no active key" in missing.stderr


def test_first_serve_prints_a_key_once_and_revocation_locks_it_out(tmp_path: Path) -> None:
    env = {**os.environ, "REFGEN_DATA_DIR": str(tmp_path / "data"), "PYTHONUNBUFFERED": "1"}
    server = RunningServer(tmp_path / "data", free_port(), env, tmp_path / "server.log")
    server.start()
    try:
        tokens = re.findall(r"rg_[A-Za-z0-9_-]{40,}", server.log.read_text())
        assert len(set(tokens)) == 1
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
    server.start()
    server.stop()
    assert len(set(re.findall(r"rg_[A-Za-z0-9_-]{40,}", server.log.read_text()))) == 1, (
        "a key was printed twice"
    )
