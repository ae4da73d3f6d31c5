"""Callbacks from the installed ``refgen serve``: a receiver gets processing then success, signed;
``refgen callbacks list`` shows every attempt, and ``refgen callbacks redeliver`` sends one again."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from refgen.callbacks import NonceCache, verify
from tests.acceptance.conftest import RunningServer, free_port
from tests.images import data_url, picture
from tests.integration.callbacks.receiver import Receiver, assert_authentic

pytestmark = pytest.mark.slow


@pytest.fixture
def callback_server(tmp_path: Path) -> Iterator[RunningServer]:
    """``refgen serve`` as a user runs it, with loopback allowed and a short retry schedule."""
    env = {
        **os.environ,
        "REFGEN_DATA_DIR": str(tmp_path / "data"),
        "REFGEN_ALLOW_NETWORKS": "127.0.0.0/8",
        "REFGEN_CALLBACK_RETRY_DELAYS": "0.2,0.4,0.6",
        "PYTHONUNBUFFERED": "1",
    }
    server = RunningServer(tmp_path / "data", free_port(), env, tmp_path / "server.log")
    server.start()  # first: only `refgen serve` creates the database
    server.token = server.cli("keys", "create", "--name", "hooks").stdout.strip().splitlines()[-1]
    yield server
    server.stop()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver(free_port())
    receiver.start()
    yield receiver
    receiver.stop()


def listed_until(
    server: RunningServer, task_id: str, condition: Callable[[list[dict[str, Any]]], bool]
) -> list[dict[str, Any]]:
    """``refgen callbacks list --task ID --json``, again until ``condition`` holds (the server
    records an attempt just after the receiver answered)."""
    deadline = time.monotonic() + 30
    while True:
        listed: list[dict[str, Any]] = json.loads(
            server.cli("callbacks", "list", "--task", task_id, "--json").stdout
        )
        if (len(listed) == 2 and condition(listed)) or time.monotonic() > deadline:
            return listed
        time.sleep(0.2)


def test_callbacks_from_the_installed_server(callback_server: RunningServer, receiver: Receiver) -> None:
    receiver.answers = [200, 500]  # processing: 200 at once; success: 500, then 200 on the retry
    url = receiver.url("/vidu/callback?name=james&age=36")
    with callback_server.client() as client:
        created = client.post(
            "/ent/v2/reference2image",
            json={
                "model": "viduq2",
                "images": [data_url(picture(256, 256))],
                "prompt": "p",
                "callback_url": url,
            },
        )
        assert created.status_code == 200, created.text
    task_id = created.json()["task_id"]

    got = receiver.wait_for(lambda r: len(r) >= 3, timeout=120)
    assert [r.body["state"] for r in got] == ["processing", "success", "success"]
    nonces = NonceCache()
    for request in got:
        assert_authentic(request, callback_server.token)  # the spec's algorithm, independently
        assert verify(
            "POST", url, request.headers, callback_server.token, nonces=nonces
        )  # the SDK's verifier
        assert request.body["id"] == task_id
    assert got[2].body["creations"][0]["url"]

    listed = json.loads(callback_server.cli("callbacks", "list", "--task", task_id, "--json").stdout)
    assert [(d["state"], d["status"]) for d in listed] == [
        ("processing", "delivered"),
        ("success", "delivered"),
    ]
    assert [a["status_code"] for a in listed[0]["attempts"]] == [200]
    assert [a["status_code"] for a in listed[1]["attempts"]] == [500, 200]
    table = callback_server.cli("callbacks", "list", "--task", task_id).stdout
    assert table.count("HTTP 500") == 1 and table.count("HTTP 200") == 2, table

    callback_server.cli("callbacks", "redeliver", listed[1]["id"])
    again = receiver.wait_for(lambda r: len(r) >= 4, timeout=30)[3]
    assert again.body["state"] == "success"
    assert verify("POST", url, again.headers, callback_server.token, nonces=nonces)  # a fresh nonce
    listed = listed_until(callback_server, task_id, lambda ds: len(ds[1]["attempts"]) == 3)
    assert [a["status_code"] for a in listed[1]["attempts"]] == [500, 200, 200]
