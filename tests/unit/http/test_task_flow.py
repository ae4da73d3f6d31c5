"""A task's life through the API, with the fake store and backend: create, poll, download, cancel."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from refgen.errors import BackendError
from refgen.media.video import probe
from refgen.testing.backends import FakeBackend
from tests.conftest import Server, make_server
from tests.images import data_url, picture

IMG = data_url(picture())
VIDEO = {"model": "vidu2.0", "images": [IMG, IMG, IMG], "prompt": "three friends by a lake"}
IMAGE = {"model": "viduq1", "images": [IMG], "prompt": "a portrait"}


def create(
    server: Server, body: dict[str, Any], path: str = "/ent/v2/reference2video", token: str | None = None
) -> dict[str, Any]:
    headers = {"Authorization": f"Token {token}"} if token else server.auth
    response = server.client.post(path, json=body, headers=headers)
    assert response.status_code == 200, response.json()
    result: dict[str, Any] = response.json()
    return result


def poll(
    server: Server,
    task_id: str,
    until: tuple[str, ...] = ("success", "failed"),
    timeout: float = 30.0,
    token: str | None = None,
) -> dict[str, Any]:
    headers = {"Authorization": f"Token {token}"} if token else server.auth
    deadline = time.monotonic() + timeout
    while True:
        body: dict[str, Any] = server.client.get(f"/ent/v2/tasks/{task_id}/creations", headers=headers).json()
        assert isinstance(body["creations"], list)
        if body["state"] in until:
            return body
        assert time.monotonic() < deadline, f"task stuck in {body['state']}"
        time.sleep(0.02)


@pytest.fixture
def slow_server(tmp_path: Path) -> Iterator[Server]:
    yield from make_server(tmp_path, workers=2, backend=FakeBackend(steps=60, delay_per_step=0.02))


def test_video_task_succeeds_with_downloadable_mp4(server: Server, tmp_path: Path) -> None:
    task = create(server, {**VIDEO, "seed": 7})
    done = poll(server, task["task_id"])
    assert set(done) == {
        "id",
        "state",
        "err_code",
        "credits",
        "payload",
        "bgm",
        "off_peak",
        "progress",
        "creations",
    }
    assert done["state"] == "success" and done["err_code"] == "" and done["progress"] == 100
    assert done["credits"] == 2
    [creation] = done["creations"]
    assert creation["video"] == {"duration": 4, "fps": 24, "resolution": {"width": 640, "height": 360}}
    assert creation["watermarked_url"] == ""
    assert creation["id"] and creation["cover_url"].startswith("http://127.0.0.1:8000/files/")
    video = server.client.get(creation["url"])
    assert video.status_code == 200 and video.headers["content-type"] == "video/mp4"
    path = tmp_path / "out.mp4"
    path.write_bytes(video.content)
    info = probe(path)
    assert (info.codec, info.width, info.height, info.frame_count) == ("h264", 640, 360, 96)
    cover = server.client.get(creation["cover_url"])
    assert cover.headers["content-type"] == "image/jpeg" and cover.content[:2] == b"\xff\xd8"
    [job] = server.backend.jobs
    assert job.seed == 7 and len(job.references) == 3 and (job.width, job.height) == (640, 360)


def test_image_task_succeeds_with_png(server: Server) -> None:
    task = create(server, IMAGE, path="/ent/v2/reference2image")
    done = poll(server, task["task_id"])
    [creation] = done["creations"]
    assert "video" not in creation
    image = server.client.get(creation["url"])
    assert image.headers["content-type"] == "image/png" and image.content[:8] == b"\x89PNG\r\n\x1a\n"
    assert server.backend.jobs[0].width == 1920 and server.backend.jobs[0].height == 1080


def test_watermarked_variant_is_offered_when_asked(server: Server) -> None:
    task = create(server, {**VIDEO, "watermark": True, "wm_position": 1})
    [creation] = poll(server, task["task_id"])["creations"]
    marked = server.client.get(creation["watermarked_url"])
    assert marked.status_code == 200 and marked.headers["content-type"] == "video/mp4"
    assert marked.content != server.client.get(creation["url"]).content


def test_creations_is_an_empty_list_until_success(idle_server: Server) -> None:
    task = create(idle_server, VIDEO)
    body = idle_server.client.get(
        f"/ent/v2/tasks/{task['task_id']}/creations", headers=idle_server.auth
    ).json()
    assert body["state"] == "queueing" and body["creations"] == [] and body["progress"] == 0
    assert body["credits"] == 2


def test_task_is_invisible_to_another_key(server: Server) -> None:
    task = create(server, VIDEO)
    other = server.new_token("other")
    for method, path in (("GET", "creations"), ("POST", "cancel")):
        response = server.client.request(
            method, f"/ent/v2/tasks/{task['task_id']}/{path}", headers={"Authorization": f"Token {other}"}
        )
        assert response.status_code == 404 and response.json()["reason"] == "TaskNotFound"


def test_unknown_task_is_not_found(server: Server) -> None:
    response = server.client.get("/ent/v2/tasks/nope/creations", headers=server.auth)
    assert response.status_code == 404 and response.json()["reason"] == "TaskNotFound"


def test_cancel_of_queued_task_ends_failed_with_no_credits(idle_server: Server) -> None:
    task = create(idle_server, VIDEO)
    response = idle_server.client.post(
        f"/ent/v2/tasks/{task['task_id']}/cancel", json={"id": task["task_id"]}, headers=idle_server.auth
    )
    assert response.status_code == 200 and response.json() == {}
    body = idle_server.client.get(
        f"/ent/v2/tasks/{task['task_id']}/creations", headers=idle_server.auth
    ).json()
    assert (body["state"], body["err_code"], body["credits"]) == ("failed", "UserCancelled", 0)
    again = idle_server.client.post(f"/ent/v2/tasks/{task['task_id']}/cancel", headers=idle_server.auth)
    assert again.status_code == 400
    assert again.json()["reason"] == "BadRequest"
    assert again.json()["message"] == "task state is failed, can not cancel"


def test_cancel_of_processing_task_stops_generation(slow_server: Server) -> None:
    task = create(slow_server, VIDEO)
    assert poll(slow_server, task["task_id"], until=("processing", "success"))["state"] == "processing"
    started = time.monotonic()
    response = slow_server.client.post(f"/ent/v2/tasks/{task['task_id']}/cancel", headers=slow_server.auth)
    assert response.status_code == 200
    done = poll(slow_server, task["task_id"])
    assert (done["state"], done["err_code"], done["credits"], done["creations"]) == (
        "failed",
        "UserCancelled",
        0,
        [],
    )
    assert time.monotonic() - started < 2.0


def test_progress_moves_while_processing(slow_server: Server) -> None:
    task = create(slow_server, VIDEO)
    assert poll(slow_server, task["task_id"], until=("processing", "success"))["state"] == "processing"
    seen = set()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        body = slow_server.client.get(
            f"/ent/v2/tasks/{task['task_id']}/creations", headers=slow_server.auth
        ).json()
        seen.add(body["progress"])
        if body["state"] == "success":
            break
        time.sleep(0.05)
    assert len(seen) >= 3 and max(seen) == 100


def test_backend_failure_fails_the_task_without_charge(tmp_path: Path) -> None:
    for server in make_server(tmp_path, backend=FakeBackend(fail_with=BackendError("boom"))):
        task = create(server, VIDEO)
        done = poll(server, task["task_id"])
        assert (done["state"], done["err_code"], done["credits"]) == ("failed", "InternalServiceFailure", 0)


def test_credit_balance_covers_waiting_tasks(idle_server: Server) -> None:
    token = idle_server.new_token("budget", credits=5)
    create(idle_server, VIDEO, token=token)  # 2
    create(idle_server, VIDEO, token=token)  # 4
    response = idle_server.client.post(
        "/ent/v2/reference2video", json=VIDEO, headers={"Authorization": f"Token {token}"}
    )
    assert response.status_code == 400 and response.json()["reason"] == "CreditInsufficient"


def test_success_charges_the_balance(server: Server) -> None:
    token = server.new_token("budget", credits=3)
    task = create(server, VIDEO, token=token)
    poll(server, task["task_id"], token=token)
    [key] = [k for k in server.store.keys.list_keys() if k.name == "budget"]
    assert key.credits == 1


@pytest.fixture
def gated_server(tmp_path: Path) -> Iterator[tuple[Server, threading.Event]]:
    """Two workers on a backend whose tasks stay processing until the event is set."""
    gate = threading.Event()
    backend = FakeBackend(steps=2, delay_per_step=1.0, sleep=lambda seconds: gate.wait())
    servers = make_server(tmp_path, workers=2, backend=backend)
    try:
        yield next(servers), gate
    finally:
        gate.set()  # let a held task end so the workers can stop
        servers.close()


def test_per_key_concurrency_keeps_extra_tasks_queueing(gated_server: tuple[Server, threading.Event]) -> None:
    server, gate = gated_server
    token = server.new_token("single", concurrency=1)
    first = create(server, VIDEO, token=token)
    second = create(server, VIDEO, token=token)
    poll(server, first["task_id"], until=("processing",), token=token)
    # the first task cannot end while the gate is shut, so the key stays at its concurrency and the
    # idle second worker must leave the second task queued, however long this takes
    assert server.backend.jobs and len(server.backend.jobs) == 1
    body = server.client.get(
        f"/ent/v2/tasks/{second['task_id']}/creations", headers={"Authorization": f"Token {token}"}
    ).json()
    assert body["state"] == "queueing"
    gate.set()
    poll(server, first["task_id"], token=token)
    poll(server, second["task_id"], token=token)


def test_file_links_are_signed_and_served_in_ranges(server: Server) -> None:
    task = create(server, VIDEO)
    [creation] = poll(server, task["task_id"])["creations"]
    url = creation["url"]
    ranged = server.client.get(url, headers={"Range": "bytes=0-99"})
    assert ranged.status_code == 206 and len(ranged.content) == 100
    assert ranged.headers["accept-ranges"] == "bytes"
    forged = url.replace("signature=", "signature=x")
    assert server.client.get(forged).status_code == 403
    path = urlsplit(url).path
    response = server.client.get(path + "?expires=1&signature=abc")
    assert response.status_code == 403 and response.json()["reason"] == "Forbidden"


def test_every_response_has_a_trace_id(server: Server) -> None:
    for response in (
        server.client.get("/healthz"),
        server.client.get("/nope"),
        server.client.get("/ent/v2/tasks/x/creations"),
    ):
        assert len(response.headers["x-trace-id"]) == 32
    missing = server.client.get("/nope").json()
    assert missing["reason"] == "NotFound" and missing["code"] == 404


def test_malformed_json_is_a_bad_request(server: Server) -> None:
    response = server.client.post("/ent/v2/reference2video", content=b"{not json", headers=server.auth)
    assert response.status_code == 400 and response.json()["reason"] == "BadRequest"


def test_readiness_reports_database_and_workers(server: Server, idle_server: Server) -> None:
    assert server.client.get("/readyz").json() == {"status": "ready", "database": True, "workers": 1}
    assert idle_server.client.get("/readyz").status_code == 503


def test_model_catalogue_is_served(server: Server) -> None:
    catalogue = server.client.get("/ent/v2/models").json()
    assert catalogue["reference2video"]["vidu1.5"]["durations"]["8"]["resolutions"] == ["720p"]
    assert catalogue["reference2image"]["viduq2"]["served"] is True


def test_create_responses_carry_exactly_the_contract_fields(idle_server: Server) -> None:
    video = create(idle_server, VIDEO)
    assert set(video) == {
        "task_id",
        "state",
        "model",
        "images",
        "prompt",
        "duration",
        "seed",
        "aspect_ratio",
        "resolution",
        "movement_amplitude",
        "bgm",
        "audio",
        "payload",
        "off_peak",
        "watermark",
        "credits",
        "created_at",
    }
    image = create(idle_server, IMAGE, path="/ent/v2/reference2image")
    assert set(image) == {
        "task_id",
        "state",
        "model",
        "prompt",
        "images",
        "seed",
        "aspect_ratio",
        "resolution",
        "credits",
        "callback_url",
        "payload",
        "created_at",
    }
    assert (
        isinstance(video["duration"], int)
        and isinstance(video["bgm"], bool)
        and isinstance(video["seed"], int)
    )


def test_openapi_declares_the_token_header_so_docs_can_authenticate(server: Server) -> None:
    schema = server.client.get("/openapi.json").json()
    assert schema["components"]["securitySchemes"]["Token"] == {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": schema["components"]["securitySchemes"]["Token"]["description"],
    }
    assert schema["paths"]["/ent/v2/reference2video"]["post"]["security"] == [{"Token": []}]


def test_operator_credit_figures_are_charged_and_published(tmp_path: Path) -> None:
    credits = '{"reference2video": {"vidu2.0": {"4": {"360p": 7}}}}'
    for server in make_server(tmp_path, workers=0, credits=credits):
        assert create(server, VIDEO)["credits"] == 7
        catalogue = server.client.get("/ent/v2/models").json()
        assert catalogue["reference2video"]["vidu2.0"]["durations"]["4"]["credits"] == {"360p": 7, "720p": 4}


def test_bad_operator_credit_figures_stop_the_start(tmp_path: Path) -> None:
    from refgen.errors import RefgenError

    with pytest.raises(RefgenError, match="REFGEN_CREDITS"):
        next(make_server(tmp_path, workers=0, credits='{"reference2video": {"vidu2.0": {"9": {"360p": 1}}}}'))
