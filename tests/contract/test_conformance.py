"""Every vector of the contract's conformance file, against the app (fake store, real validation)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Server, make_server
from tests.contract.vectors import PLACEHOLDERS, expand, headers, stored_files, task_count

HERE = Path(__file__).parent
VECTORS = json.loads((HERE / "conformance.json").read_text())
SHARED_COPY = HERE.parents[2] / "shared" / "spec" / "conformance.json"


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Server]]:
    plain = make_server(tmp_path_factory.mktemp("plain"), workers=0, real_fetcher=True)
    loopback = make_server(
        tmp_path_factory.mktemp("loopback"), workers=0, real_fetcher=True, allow_networks="127.0.0.0/8"
    )
    yield {"plain": next(plain), "loopback": next(loopback)}
    for gen in (plain, loopback):
        with pytest.raises(StopIteration):
            next(gen)


@pytest.mark.parametrize("case", VECTORS["cases"], ids=[c["name"] for c in VECTORS["cases"]])
def test_conformance_vector(case: dict[str, Any], servers: dict[str, Server]) -> None:
    server = servers["loopback" if case.get("needs_allow_loopback") else "plain"]
    tasks_before = task_count(server)
    files_before = len(stored_files(server))
    body = expand(case["body"])
    response = server.client.post(
        case["path"], json=body, headers=headers(case.get("auth", "Token"), server.token)
    )
    expect = case["expect"]
    payload = response.json()
    assert response.status_code == expect["status"], payload
    assert len(response.headers["x-trace-id"]) == 32
    if expect["status"] == 200:
        assert "code" not in payload
        for field, value in expect.get("echo", {}).items():
            assert payload[field] == value, field
        assert payload["state"] == "created"
        assert isinstance(payload["task_id"], str) and payload["task_id"]
        assert payload["images"] == body.get("images", [])
        assert isinstance(payload["seed"], int) and 0 < payload["seed"] <= 2_147_483_647
        assert payload["created_at"].endswith("Z")
        assert task_count(server) == tasks_before + 1
    else:
        assert payload["code"] == expect["status"]
        assert payload["reason"] == expect["reason"]
        assert payload["message"]
        assert len(payload["metadata"]["trace_id"]) == 32
        assert payload["metadata"]["trace_id"] == response.headers["x-trace-id"]
        assert task_count(server) == tasks_before, "a refused request left a task behind"
        assert len(stored_files(server)) == files_before, "a refused request left a file behind"


def test_conformance_vectors_match_the_contract_copy() -> None:
    if not SHARED_COPY.exists():
        pytest.skip("the contract folder is not beside this checkout")
    assert json.loads(SHARED_COPY.read_text()) == VECTORS


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/cb",
        "http://169.254.169.254/latest",
        "http://[::1]:9/x",
        "http://0x7f000001/cb",
        "http://10.1.2.3/cb",
    ],
)
def test_callback_url_to_a_forbidden_address_is_refused(servers: dict[str, Server], url: str) -> None:
    server = servers["plain"]
    body = {"model": "viduq1", "images": [PLACEHOLDERS["$IMG"]], "prompt": "p", "callback_url": url}
    response = server.client.post("/ent/v2/reference2video", json=body, headers=server.auth)
    assert response.status_code == 400 and response.json()["reason"] == "FieldInvalid"
    assert "callback_url" in response.json()["message"]
