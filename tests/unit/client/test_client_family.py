"""``Client`` and ``AsyncClient`` on the rest of the video family: text2video, img2video,
start_end2video and reference2video's subjects form, against the real app."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import httpx
import pytest

from refgen.client import (
    Client,
    FramesVideoTask,
    InvalidRequestError,
    Subject,
    TextVideoTask,
    VideoTask,
)
from refgen.domain import TaskKind
from tests.conftest import Server
from tests.images import picture
from tests.unit.client.conftest import async_client

WM = picture(256, 256, colour=(10, 10, 200))


def stored(server: Server, task_id: str):  # type: ignore[no-untyped-def]
    task = server.store.tasks.get_task(task_id)
    assert task is not None
    return task


def test_client_text2video_sends_every_field(client: Client, server: Server) -> None:
    task = client.text2video(
        model="viduq3-pro",
        prompt='a fox says "hello"',
        style="anime",
        duration=6,
        resolution="1080p",
        aspect_ratio="4:3",
        movement_amplitude="small",
        bgm=True,
        audio=True,
        voice_id="fox",
        seed=11,
        watermark=True,
        wm_position=1,
        wm_url=WM,
        payload="p",
        callback_url="https://hooks.example.com/t2v",
        meta_data="m",
    )
    assert isinstance(task, TextVideoTask) and task.model_extra == {}
    assert (task.model, task.style, task.duration, task.resolution, task.aspect_ratio) == (
        "viduq3-pro",
        "anime",
        6,
        "1080p",
        "4:3",
    )
    assert (task.movement_amplitude, task.bgm, task.audio, task.seed, task.watermark, task.payload) == (
        "small",
        True,
        True,
        11,
        True,
        "p",
    )
    assert task.credits == 24
    spec = stored(server, task.task_id).spec
    assert spec.kind is TaskKind.TEXT_TO_VIDEO
    assert (spec.voice_id, spec.wm_position, spec.callback_url, spec.meta_data) == (
        "fox",
        1,
        "https://hooks.example.com/t2v",
        "m",
    )


def test_client_text2video_leaves_unset_options_to_the_server(client: Client) -> None:
    task = client.text2video(model="viduq2", prompt="a quiet lake")
    assert (task.style, task.duration, task.resolution, task.aspect_ratio, task.audio) == (
        "general",
        5,
        "720p",
        "16:9",
        False,
    )
    assert task.seed > 0 and task.credits == 5


def test_client_img2video_sends_the_first_frame_and_every_option(
    client: Client, server: Server, pictures: dict[str, Path]
) -> None:
    task = client.img2video(
        model="viduq2-turbo",
        image=pictures["b.jpg"],
        prompt="the cat turns",
        duration=5,
        resolution="720p",
        movement_amplitude="large",
        audio=True,
        voice_id="v1",
        is_rec=True,
        off_peak=False,
        seed=3,
    )
    assert isinstance(task, FramesVideoTask) and task.model_extra == {}
    assert task.images[0].startswith("data:image/jpeg;base64,") and len(task.images) == 1
    assert (task.is_rec, task.audio, task.prompt, task.movement_amplitude, task.credits) == (
        True,
        True,
        "the cat turns",
        "large",
        8,
    )
    assert stored(server, task.task_id).spec.kind is TaskKind.IMAGE_TO_VIDEO


def test_client_img2video_without_a_prompt_sends_none(client: Client) -> None:
    task = client.img2video(model="viduq1", image=picture(320, 240))
    assert task.prompt == "" and task.duration == 5 and task.resolution == "1080p"


def test_client_start_end2video_sends_start_then_end(
    client: Client, server: Server, pictures: dict[str, Path]
) -> None:
    end = picture(320, 240, colour=(200, 0, 0))
    task = client.start_end2video(
        model="viduq2-pro-fast", start=pictures["a.png"], end=end, prompt="", duration=8, resolution="1080p"
    )
    assert isinstance(task, FramesVideoTask)
    assert base64.b64decode(task.images[0].split(",", 1)[1]) == pictures["a.png"].read_bytes()
    assert base64.b64decode(task.images[1].split(",", 1)[1]) == end
    assert task.credits == 16 and stored(server, task.task_id).spec.kind is TaskKind.START_END_TO_VIDEO


def test_client_start_end2video_refusal_is_raised(client: Client) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        client.start_end2video(model="viduq2-pro", start=picture(640, 320), end=picture(320, 320))
    assert caught.value.reason == "PageSizeOutOfRange" and "images[1]" in caught.value.message


def test_client_reference2video_subjects_form(
    client: Client, server: Server, pictures: dict[str, Path]
) -> None:
    task = client.reference2video(
        model="viduq2",
        prompt="@cat meets @dog",
        subjects=[
            Subject("cat", [pictures["a.png"], pictures["c.webp"]], voice_id="purr"),
            Subject("dog", [picture(256, 256, colour=(0, 90, 0))]),
        ],
        audio=True,
    )
    assert isinstance(task, VideoTask) and task.audio is True
    assert len(task.images) == 3 and task.images[1].startswith("data:image/webp;base64,")
    subjects = stored(server, task.task_id).spec.subjects
    assert [(s.id, s.image_count, s.voice_id) for s in subjects] == [("cat", 2, "purr"), ("dog", 1, "")]


def test_client_reference2video_refuses_images_and_subjects_together() -> None:
    sent: list[httpx.Request] = []
    transport = httpx.MockTransport(lambda request: sent.append(request) or httpx.Response(500))
    with (
        Client("k", base_url="http://refgen.test", transport=transport) as client,
        pytest.raises(ValueError, match="not both"),
    ):
        client.reference2video(
            model="viduq2", prompt="p", images=[picture()], subjects=[Subject("a", [picture()])]
        )
    assert sent == []


def test_client_new_kinds_send_only_what_was_given() -> None:
    bodies: list[dict[str, object]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        return httpx.Response(200, json={"task_id": "t1", "state": "created"})

    with Client("k", base_url="http://refgen.test", transport=httpx.MockTransport(answer)) as client:
        client.text2video(model="viduq1", prompt="p", seed=None, extra_body={"x": 1})
        client.img2video(model="viduq1", image="https://example.test/a.png")
        client.start_end2video(
            model="viduq1", start="https://e.test/s.png", end="https://e.test/e.png", is_rec=True
        )
        client.reference2video(model="viduq2", prompt="@a", subjects=[Subject("a", ["https://e.test/a.png"])])
    assert bodies == [
        {"model": "viduq1", "prompt": "p", "x": 1},
        {"model": "viduq1", "images": ["https://example.test/a.png"]},
        {"model": "viduq1", "images": ["https://e.test/s.png", "https://e.test/e.png"], "is_rec": True},
        {"model": "viduq2", "prompt": "@a", "subjects": [{"id": "a", "images": ["https://e.test/a.png"]}]},
    ]


@pytest.mark.anyio
async def test_async_client_family_methods(server: Server, pictures: dict[str, Path]) -> None:
    async with async_client(server) as client:
        text = await client.text2video(model="viduq1", prompt="rain", style="anime")
        first = await client.img2video(model="vidu2.0", image=pictures["a.png"], duration=4)
        frames = await client.start_end2video(
            model="viduq1", start=pictures["a.png"], end=pictures["b.jpg"], prompt="dusk"
        )
        subjects = await client.reference2video(
            model="viduq1", prompt="@x", subjects=[Subject("x", [pictures["c.webp"]], voice_id="v")]
        )
        with pytest.raises(ValueError, match="not both"):
            await client.reference2video(model="viduq1", prompt="p", images=[], subjects=[])
    assert isinstance(text, TextVideoTask) and text.style == "anime"
    assert isinstance(first, FramesVideoTask) and first.duration == 4 and len(first.images) == 1
    assert isinstance(frames, FramesVideoTask) and len(frames.images) == 2 and frames.prompt == "dusk"
    assert isinstance(subjects, VideoTask) and len(subjects.images) == 1
    assert server.store.tasks.get_task(subjects.task_id).spec.subjects[0].voice_id == "v"  # type: ignore[union-attr]
