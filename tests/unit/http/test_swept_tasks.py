"""A task removed by retention is, to every client, a task that does not exist."""

from __future__ import annotations

from datetime import timedelta

from refgen.clock import utcnow
from refgen.http.generation_reads import GenerationReads
from refgen.retention import RetentionSweeper
from tests.conftest import Server
from tests.unit.http.test_task_flow import VIDEO, create, poll


def test_swept_task_answers_as_an_unknown_task(server: Server) -> None:
    # the API process lives eight days on too: what it reads is past its retention, never kept
    runtime = server.runtime
    server.client.app.state.generation_reads = GenerationReads(  # type: ignore[attr-defined]
        runtime.service.get,
        runtime.links,
        retention=timedelta(days=7),
        wall_clock=lambda: utcnow() + timedelta(days=8),
    )
    task_id = create(server, VIDEO)["task_id"]
    [creation] = poll(server, task_id)["creations"]
    assert server.client.get(creation["url"]).status_code == 200
    unknown = {
        method: server.client.request(method, f"/ent/v2/tasks/nope/{path}", headers=server.auth, json={})
        for method, path in (("GET", "creations"), ("POST", "cancel"))
    }
    assert (server.files.root / "tasks" / task_id).is_dir()

    eight_days_on = RetentionSweeper(
        server.store.retention, server.files, days=7, clock=lambda: utcnow() + timedelta(days=8)
    )
    assert eight_days_on.sweep_once() == [task_id]

    for method, path in (("GET", "creations"), ("POST", "cancel")):
        response = server.client.request(
            method, f"/ent/v2/tasks/{task_id}/{path}", headers=server.auth, json={}
        )
        assert response.status_code == unknown[method].status_code == 404
        body, expected = response.json(), unknown[method].json()
        assert (
            (body["code"], body["reason"]) == (expected["code"], expected["reason"]) == (404, "TaskNotFound")
        )
    listed = server.client.get("/ent/v2/tasks", params={"task_ids": task_id}, headers=server.auth)
    assert listed.status_code == 200 and listed.json()["tasks"] == []
    assert server.client.get("/ent/v2/tasks", headers=server.auth).json()["tasks"] == []
    assert not (server.files.root / "tasks" / task_id).exists()
    assert server.client.get(creation["url"]).status_code == 404
