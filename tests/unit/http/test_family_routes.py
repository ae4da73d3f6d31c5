"""The family's routes: answers per endpoint, unserved paths, speaking backends, what a task keeps."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from refgen.backends.registry import BACKEND_KINDS, compositor_speaks
from refgen.testing.backends import FakeBackend
from tests.conftest import Server, make_server
from tests.contract.vectors import stored_files, task_count
from tests.images import data_url, picture
from tests.unit.http.test_task_flow import create, poll

IMG = data_url(picture())
WIDE = data_url(picture(1280, 720))
URL = "https://uploads.example.com/wide.png"

COMMON = {
    "task_id",
    "state",
    "model",
    "prompt",
    "duration",
    "seed",
    "resolution",
    "movement_amplitude",
    "bgm",
}
COMMON |= {"audio", "payload", "off_peak", "watermark", "credits", "created_at"}


@pytest.fixture
def mute_server(tmp_path: Path) -> Iterator[Server]:
    yield from make_server(tmp_path / "mute", workers=0, backend=FakeBackend(speaks=False))


def test_created_answers_carry_exactly_the_fields_the_family_page_lists(idle_server: Server) -> None:
    text = create(idle_server, {"model": "viduq1", "prompt": "p"}, path="/ent/v2/text2video")
    assert set(text) == COMMON | {"style", "aspect_ratio"}
    for path, images in (("img2video", [IMG]), ("start-end2video", [IMG, IMG])):
        frames = create(idle_server, {"model": "viduq1", "images": images}, path=f"/ent/v2/{path}")
        assert set(frames) == COMMON | {"images", "is_rec"}
    body = {"model": "viduq2", "subjects": [{"id": "a", "images": [IMG, WIDE]}, {"id": "b", "images": [IMG]}]}
    subjects = create(idle_server, {**body, "prompt": "@a and @b"})
    assert set(subjects) == COMMON | {"images", "aspect_ratio"}
    assert subjects["images"] == [IMG, WIDE, IMG]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/ent/v2/extend"),
        ("POST", "/ent/v2/template2video"),
        ("GET", "/ent/v2/upscale-new"),
        ("POST", "/ent/v2/one-click/dance"),
        ("DELETE", "/ent/v2/lip-sync"),
    ],
)
def test_unserved_paths_are_not_found_whatever_the_body(idle_server: Server, method: str, path: str) -> None:
    before, files = task_count(idle_server), len(stored_files(idle_server))
    for headers in (idle_server.auth, {}):
        response = idle_server.client.request(
            method, path, json={"model": "viduq1", "images": [IMG], "prompt": "p"}, headers=headers
        )
        answer = response.json()
        assert response.status_code == 404 and answer["code"] == 404
        assert answer["reason"] == "NotFound" and answer["message"] == f"not found: {method} {path}"
        assert len(answer["metadata"]["trace_id"]) == 32
    assert (task_count(idle_server), len(stored_files(idle_server))) == (before, files)


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("GET", "/ent/v2/text2video", "POST"),
        ("PUT", "/ent/v2/img2video", "POST"),
        ("GET", "/ent/v2/start-end2video", "POST"),
        ("POST", "/ent/v2/tasks/x/creations", "GET"),
    ],
)
def test_served_path_with_another_method_is_405_with_allow(
    idle_server: Server, method: str, path: str, allow: str
) -> None:
    response = idle_server.client.request(method, path, headers=idle_server.auth)
    assert response.status_code == 405 and response.headers["allow"] == allow
    assert response.json()["reason"] == "BadRequest" and response.json()["code"] == 405


def test_backend_that_cannot_speak_refuses_audio(mute_server: Server) -> None:
    before = task_count(mute_server)
    for path, body in (
        ("img2video", {"model": "viduq2-turbo", "images": [IMG], "audio": True}),
        ("reference2video", {"model": "viduq2", "images": [IMG], "prompt": "p", "audio": "true"}),
        ("text2video", {"model": "viduq3-pro", "prompt": "p", "audio": True}),
    ):
        response = mute_server.client.post(f"/ent/v2/{path}", json=body, headers=mute_server.auth)
        assert response.status_code == 400, response.json()
        assert response.json()["reason"] == "FieldInvalid" and "audio" in response.json()["message"]
    assert task_count(mute_server) == before
    quiet = create(mute_server, {"model": "viduq3-pro", "prompt": "p"}, path="/ent/v2/text2video")
    assert quiet["audio"] is False and quiet["credits"] == 15


def test_model_catalogue_says_which_models_speak(idle_server: Server, mute_server: Server) -> None:
    speaking = idle_server.client.get("/ent/v2/models").json()
    mute = mute_server.client.get("/ent/v2/models").json()
    assert speaking["img2video"]["viduq3-pro"]["speaks"] is True
    assert mute["img2video"]["viduq3-pro"]["speaks"] is False
    assert speaking["text2video"]["viduq3-pro"]["audio"] == {"available": True, "default": True}
    assert speaking["reference2image"]["viduq2"]["served"] is True


def test_registry_speech_comes_from_the_backend_description() -> None:
    assert not BACKEND_KINDS["wan-vace"].speaks and not BACKEND_KINDS["flux2-klein"].speaks
    assert BACKEND_KINDS["compositor"].speaks is compositor_speaks()


def test_start_end_ratio_outside_the_range_names_the_end_frame(idle_server: Server) -> None:
    before, files = task_count(idle_server), len(stored_files(idle_server))
    body = {"model": "viduq1", "images": [data_url(picture(640, 480)), IMG]}
    response = idle_server.client.post("/ent/v2/start-end2video", json=body, headers=idle_server.auth)
    assert response.status_code == 400 and response.json()["reason"] == "PageSizeOutOfRange"
    assert "images[1]" in response.json()["message"]
    assert (task_count(idle_server), len(stored_files(idle_server))) == (before, files)


def test_subject_picture_errors_name_their_place(idle_server: Server) -> None:
    body = {
        "model": "viduq2",
        "prompt": "@a",
        "subjects": [{"id": "a", "images": [IMG, data_url(picture(100, 100))]}],
    }
    response = idle_server.client.post("/ent/v2/reference2video", json=body, headers=idle_server.auth)
    assert response.status_code == 400 and "subjects[0].images[1]" in response.json()["message"]


def test_task_keeps_subjects_sources_and_the_picture_ratio(idle_server: Server) -> None:
    idle_server.fetcher.images[URL] = picture(1280, 720)
    body = {
        "model": "viduq2",
        "prompt": "@a",
        "subjects": [{"id": "a", "images": [URL, IMG], "voice_id": "v"}],
    }
    made = create(idle_server, body)
    task = idle_server.store.tasks.get_task(made["task_id"])
    assert task is not None
    assert task.image_sources == [URL, ""] and len(task.reference_keys) == 2
    assert [(s.id, s.image_count, s.voice_id) for s in task.spec.subjects] == [("a", 2, "v")]
    frames = create(idle_server, {"model": "viduq1", "images": [URL]}, path="/ent/v2/img2video")
    framed = idle_server.store.tasks.get_task(frames["task_id"])
    assert framed is not None and framed.spec.aspect_ratio == "16:9"


def test_img2video_renders_at_the_picture_ratio(server: Server) -> None:
    made = create(server, {"model": "viduq1", "images": [WIDE], "prompt": ""}, path="/ent/v2/img2video")
    done = poll(server, made["task_id"])
    assert done["state"] == "success", done
    size = done["creations"][0]["video"]["resolution"]
    assert (size["width"], size["height"]) == (1920, 1080)
    job = server.backend.jobs[-1]
    assert (job.width, job.height, job.kind.value) == (1920, 1080, "img2video")


def test_text2video_runs_with_style_and_audio(server: Server) -> None:
    body: dict[str, Any] = {
        "model": "viduq3-turbo",
        "prompt": 'she says "hi"',
        "duration": 2,
        "aspect_ratio": "9:16",
    }
    made = create(server, body, path="/ent/v2/text2video")
    assert poll(server, made["task_id"])["state"] == "success"
    job = server.backend.jobs[-1]
    assert (job.width, job.height, job.audio, job.style) == (720, 1280, True, "general")
