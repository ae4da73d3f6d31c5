"""The GET vectors of the video family's conformance file (the task list and the credits), against
the app (fake store, real validation, no workers: tasks stay unfinished).

Each case runs with a key of its own. Its ``setup`` requests are sent first and must answer 200;
where this build does not serve a setup request's create endpoint yet (404 ``NotFound``), the task
is put in the store directly with the same endpoint (kind) and model, so the list's behaviour is
still checked. ``then`` follows a successful case, with ``$PREV:field`` taken from its answer.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from refgen.clock import utcnow
from refgen.domain import TaskKind, TaskState
from refgen.testing.store import make_task
from tests.conftest import Server, make_server
from tests.contract.test_conformance import PLACEHOLDERS, headers

HERE = Path(__file__).parent
VECTORS = json.loads((HERE / "conformance-family.json").read_text())
SHARED_COPY = HERE.parents[2] / "shared" / "spec" / "conformance-family.json"
CASES = [case for case in VECTORS["cases"] if case.get("method", "POST") == "GET"]


class Case:
    """One case's key, its setup tasks by name, and the previous answer."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.token = server.new_token(f"case-{uuid.uuid4().hex[:12]}")
        self.tasks: dict[str, str] = {}
        self.previous: dict[str, Any] = {}

    def expand(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.expand(v) for v in value]
        if isinstance(value, dict):
            return {k: self.expand(v) for k, v in value.items()}
        if isinstance(value, str):
            if value.startswith("$TASK:"):
                return self.tasks[value.removeprefix("$TASK:")]
            if value.startswith("$PREV:"):
                return self.previous[value.removeprefix("$PREV:")]
            return PLACEHOLDERS.get(value, value)
        return value

    def create(self, name: str, path: str, body: dict[str, Any]) -> None:
        response = self.server.client.post(path, json=self.expand(body), headers=headers("Token", self.token))
        if response.status_code == 404 and response.json()["reason"] == "NotFound":
            self.tasks[name] = self.seed(TaskKind(path.rsplit("/", 1)[1]), body["model"])
            return
        assert response.status_code == 200, (path, response.json())
        self.tasks[name] = response.json()["task_id"]

    def seed(self, kind: TaskKind, model: str) -> str:
        key = self.server.runtime.authenticator.key_for(self.token)
        assert key is not None
        task = make_task(uuid.uuid4().hex, key.id, created_at=utcnow(), model=model, kind=kind)
        task.state = TaskState.QUEUEING
        self.server.store.tasks.insert_task(task)
        return task.id

    def get(self, request: dict[str, Any]) -> Any:
        return self.server.client.get(
            request["path"],
            params=self.expand(request.get("query", {})),
            headers=headers(request.get("auth", "Token"), self.token),
        )

    def check(self, request: dict[str, Any]) -> None:
        response = self.get(request)
        expect = request["expect"]
        payload = response.json()
        assert response.status_code == expect["status"], payload
        assert len(response.headers["x-trace-id"]) == 32
        if expect["status"] != 200:
            assert (payload["code"], payload["reason"]) == (expect["status"], expect["reason"])
            assert payload["message"] and payload["metadata"]["trace_id"] == response.headers["x-trace-id"]
            return
        assert "code" not in payload
        for field, value in self.expand(expect.get("echo", {})).items():
            assert payload[field] == value, field
        for field in expect.get("nonzero", []):
            assert payload.get(field) not in (None, 0, False, "", []), field
        if "tasks" in expect:
            assert [t["id"] for t in payload["tasks"]] == self.expand(expect["tasks"])
        self.previous = payload


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    servers = make_server(tmp_path_factory.mktemp("family-reads"), workers=0)
    yield next(servers)
    with pytest.raises(StopIteration):
        next(servers)


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_conformance_family_get_vector(case: dict[str, Any], server: Server) -> None:
    run = Case(server)
    for step in case.get("setup", []):
        run.create(step["as"], step["path"], step["body"])
    run.check(case)
    if "then" in case:
        run.check(case["then"])


def test_conformance_family_has_the_nine_get_vectors() -> None:
    assert len(CASES) == 9
    assert {c["path"] for c in CASES} == {"/ent/v2/tasks", "/ent/v2/credits"}


def test_conformance_family_vectors_match_the_contract_copy() -> None:
    if not SHARED_COPY.exists():
        pytest.skip("the contract folder is not beside this checkout")
    assert json.loads(SHARED_COPY.read_text()) == VECTORS
