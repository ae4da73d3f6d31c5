"""Every vector of the video family's conformance file, against the app (fake store, real validation).

Create cases, task-list and credits reads (with their setup requests and follow-ups) and unserved
paths; every refusal must leave no task and no file behind.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import Server, make_server
from tests.contract.vectors import expand, headers, stored_files, task_count

HERE = Path(__file__).parent
VECTORS = json.loads((HERE / "conformance-family.json").read_text())
SHARED_COPY = HERE.parents[2] / "shared" / "spec" / "conformance-family.json"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from make_server(tmp_path_factory.mktemp("family"), workers=0, real_fetcher=True)


def send(server: Server, request: dict[str, Any], names: dict[str, str], auth: str) -> httpx.Response:
    method = request.get("method", "POST")
    if method == "GET":
        return server.client.get(
            request["path"],
            params=expand(request.get("query", {}), names),
            headers=headers(auth, server.token),
        )
    return server.client.request(
        method, request["path"], json=expand(request.get("body"), names), headers=headers(auth, server.token)
    )


def nonzero(value: object) -> bool:
    return value is not None and value is not False and value != 0 and value != "" and value != []


def flattened_images(body: dict[str, Any]) -> list[str]:
    """What a create response's ``images`` echoes: the images sent, or the subjects' flattened."""
    if body.get("subjects"):
        return [image for subject in body["subjects"] for image in subject["images"]]
    return list(body.get("images") or [])


def check_answer(request: dict[str, Any], response: httpx.Response, names: dict[str, str]) -> None:
    expect = request["expect"]
    payload = response.json()
    assert response.status_code == expect["status"], payload
    assert len(response.headers["x-trace-id"]) == 32
    if expect["status"] != 200:
        assert payload["code"] == expect["status"]
        assert payload["reason"] == expect["reason"], payload
        assert payload["message"]
        assert payload["metadata"]["trace_id"] == response.headers["x-trace-id"]
        return
    assert "code" not in payload
    for field, value in expand(expect.get("echo", {}), names).items():
        assert payload[field] == value, field
    for field in expect.get("nonzero", []):
        assert nonzero(payload.get(field)), field
    if "tasks" in expect:
        assert [task["id"] for task in payload["tasks"]] == expand(expect["tasks"], names)
    if request.get("method", "POST") == "POST":
        body = expand(request["body"])
        assert payload["state"] == "created" and isinstance(payload["task_id"], str) and payload["task_id"]
        assert isinstance(payload["seed"], int) and 0 < payload["seed"] <= 2_147_483_647
        assert payload["created_at"].endswith("Z")
        if request["path"].endswith("/text2video"):
            assert "images" not in payload
        else:
            assert payload["images"] == flattened_images(body)


@pytest.mark.parametrize("case", VECTORS["cases"], ids=[c["name"] for c in VECTORS["cases"]])
def test_conformance_family_vector(case: dict[str, Any], server: Server) -> None:
    auth = case.get("auth", "Token")
    names: dict[str, str] = {}
    for setup in case.get("setup", []):
        answer = send(server, setup, names, auth)
        assert answer.status_code == 200, answer.json()
        names[f"$TASK:{setup['as']}"] = answer.json()["task_id"]
    tasks_before = task_count(server)
    files_before = len(stored_files(server))

    response = send(server, case, names, auth)
    check_answer(case, response, names)
    created = case["expect"]["status"] == 200 and case.get("method", "POST") == "POST"
    assert task_count(server) == tasks_before + created, "a request left the wrong number of tasks"
    if case["expect"]["status"] != 200:
        assert len(stored_files(server)) == files_before, "a refused request left a file behind"

    if "then" in case:
        previous = response.json()
        names.update({f"$PREV:{field}": value for field, value in previous.items() if isinstance(value, str)})
        check_answer(case["then"], send(server, case["then"], names, auth), names)


def test_conformance_family_vectors_match_the_contract_copy() -> None:
    if not SHARED_COPY.exists():
        pytest.skip("the contract folder is not beside this checkout")
    assert json.loads(SHARED_COPY.read_text()) == VECTORS
