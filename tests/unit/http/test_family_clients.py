"""The family page's compatibility checklist: vidu-mcp 0.1.2's default bodies and ComfyUI's Vidu node
bodies, replayed as they are sent, each answered as the page lists (credits, or the error)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Server, make_server
from tests.images import data_url, picture
from tests.unit.http.test_task_flow import poll

P = "two friends walk by a lake at dusk"
LOCAL = data_url(picture(), "image/jpeg")  # vidu-mcp labels every local file image/jpeg
URL = "https://uploads.example.com/frame.png"  # ComfyUI uploads PNGs and sends their URLs


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    for running in make_server(tmp_path_factory.mktemp("clients"), workers=0):
        running.fetcher.images[URL] = picture()
        yield running


VIDU_MCP: list[tuple[str, str, dict[str, Any], int | str]] = [
    (
        "generate_text_to_video",
        "text2video",
        {
            "model": "viduq1",
            "style": "general",
            "prompt": P,
            "duration": 5,
            "seed": 0,
            "aspect_ratio": "16:9",
            "resolution": "1080p",
            "movement_amplitude": "auto",
            "bgm": False,
        },
        8,
    ),
    (
        "generate_img_to_video",
        "img2video",
        {
            "model": "viduq1",
            "images": [LOCAL],
            "prompt": "",
            "duration": 5,
            "seed": 0,
            "resolution": "1080p",
            "movement_amplitude": "auto",
            "bgm": False,
        },
        8,
    ),
    (
        "generate_reference2video_to_video",
        "reference2video",
        {
            "model": "vidu2.0",
            "images": [LOCAL, LOCAL],
            "prompt": P,
            "duration": 4,
            "seed": 0,
            "aspect_ratio": "16:9",
            "resolution": "720p",
            "movement_amplitude": "auto",
            "bgm": False,
        },
        4,
    ),
    (
        "generate_startend2video_to_video",
        "start-end2video",
        {
            "model": "viduq1",
            "images": [LOCAL, LOCAL],
            "prompt": "",
            "duration": 5,
            "seed": 0,
            "resolution": "1080p",
            "movement_amplitude": "auto",
            "bgm": False,
        },
        8,
    ),
    (
        "generate_template_to_video",
        "template2video",
        {"template": "hugging", "images": [LOCAL], "prompt": "", "seed": 0, "aspect_ratio": "", "bgm": False},
        "NotFound",
    ),
    (
        "generate_img_to_video with only the model changed",
        "img2video",
        {
            "model": "vidu2.0",
            "images": [LOCAL],
            "prompt": "",
            "duration": 5,
            "seed": 0,
            "resolution": "1080p",
        },
        "FieldInvalid",
    ),
]

SUBJECTS = [{"id": f"subject{i}", "images": [URL] * n} for i, n in enumerate((3, 3, 1), start=1)]
COMFY: list[tuple[str, str, dict[str, Any], int | str]] = [
    (
        "ViduTextToVideoNode",
        "text2video",
        {
            "model": "viduq1",
            "prompt": P,
            "duration": 5,
            "seed": 0,
            "aspect_ratio": "9:16",
            "resolution": "1080p",
            "movement_amplitude": "auto",
        },
        8,
    ),
    (
        "ViduImageToVideoNode (original set)",
        "img2video",
        {
            "model": "viduq1",
            "images": [URL],
            "prompt": "",
            "duration": 5,
            "seed": 0,
            "aspect_ratio": "16:9",
            "resolution": "1080p",
            "movement_amplitude": "auto",
        },
        8,
    ),
    (
        "ViduReferenceVideoNode",
        "reference2video",
        {
            "model": "viduq1",
            "images": [URL] * 7,
            "prompt": P,
            "duration": 5,
            "seed": 0,
            "aspect_ratio": "1:1",
            "resolution": "1080p",
            "movement_amplitude": "auto",
        },
        8,
    ),
    (
        "ViduStartEndToVideoNode (original set)",
        "start-end2video",
        {
            "model": "viduq1",
            "images": [URL, URL],
            "prompt": P,
            "duration": 5,
            "seed": 0,
            "aspect_ratio": "16:9",
            "resolution": "1080p",
            "movement_amplitude": "small",
        },
        8,
    ),
    (
        "Vidu2TextToVideoNode",
        "text2video",
        {
            "model": "viduq2",
            "prompt": P,
            "duration": 10,
            "seed": 1,
            "aspect_ratio": "3:4",
            "resolution": "1080p",
            "bgm": True,
        },
        20,
    ),
    *[
        (
            f"Vidu2ImageToVideoNode {model}",
            "img2video",
            {
                "model": model,
                "images": [URL],
                "prompt": P,
                "duration": 10,
                "seed": 1,
                "resolution": "1080p",
                "movement_amplitude": "large",
            },
            credits,
        )
        for model, credits in (("viduq2-pro-fast", 20), ("viduq2-pro", 40), ("viduq2-turbo", 20))
    ],
    (
        "Vidu2ReferenceVideoNode",
        "reference2video",
        {
            "model": "viduq2",
            "subjects": SUBJECTS,
            "prompt": "@subject1 greets @subject3",
            "audio": True,
            "duration": 10,
            "seed": 1,
            "aspect_ratio": "4:3",
            "resolution": "720p",
            "movement_amplitude": "auto",
        },
        12,
    ),
    *[
        (
            f"Vidu2StartEndToVideoNode {model}",
            "start-end2video",
            {
                "model": model,
                "images": [URL, URL],
                "prompt": P,
                "duration": 2,
                "seed": 1,
                "resolution": "720p",
                "movement_amplitude": "auto",
            },
            credits,
        )
        for model, credits in (("viduq2-pro-fast", 2), ("viduq2-pro", 4), ("viduq2-turbo", 2))
    ],
    *[
        (
            f"Vidu3TextToVideoNode {model}",
            "text2video",
            {
                "model": model,
                "prompt": P,
                "duration": 16,
                "seed": 1,
                "aspect_ratio": "16:9",
                "resolution": "1080p",
                "audio": True,
            },
            credits,
        )
        for model, credits in (("viduq3-pro", 64), ("viduq3-turbo", 32))
    ],
    (
        "Vidu3ImageToVideoNode viduq3-pro 2K",
        "img2video",
        {
            "model": "viduq3-pro",
            "images": [URL],
            "prompt": P,
            "duration": 1,
            "seed": 1,
            "resolution": "2K",
            "audio": True,
        },
        5,
    ),
    (
        "Vidu3ImageToVideoNode viduq3-turbo",
        "img2video",
        {
            "model": "viduq3-turbo",
            "images": [URL],
            "prompt": P,
            "duration": 16,
            "seed": 1,
            "resolution": "720p",
        },
        32,
    ),
    (
        "Vidu3StartEndToVideoNode",
        "start-end2video",
        {
            "model": "viduq3-pro",
            "images": [URL, URL],
            "prompt": P,
            "duration": 8,
            "seed": 1,
            "resolution": "1080p",
            "audio": False,
        },
        32,
    ),
    (
        "ViduExtendVideoNode",
        "extend",
        {
            "model": "viduq2-pro",
            "prompt": "",
            "duration": 4,
            "seed": 1,
            "resolution": "720p",
            "video_url": URL,
        },
        "NotFound",
    ),
    (
        "ViduMultiFrameVideoNode",
        "multiframe",
        {"model": "viduq2-turbo", "seed": 1, "resolution": "720p", "start_image": URL, "image_settings": []},
        "NotFound",
    ),
    (
        "Vidu4ImageToVideoNode",
        "img2video",
        {"model": "viduq4-preview", "images": [URL], "prompt": P, "duration": 5, "resolution": "1080p"},
        "FieldInvalid",
    ),
    (
        "Vidu4ReferenceVideoNode",
        "reference2video",
        {"model": "viduq4-preview", "images": [URL] * 15, "prompt": P, "sounds": []},
        "FieldInvalid",
    ),
]


@pytest.mark.parametrize(
    ("tool", "path", "body", "expect"), VIDU_MCP + COMFY, ids=[case[0] for case in VIDU_MCP + COMFY]
)
def test_public_client_bodies_get_the_listed_answer(
    server: Server, tool: str, path: str, body: dict[str, Any], expect: int | str
) -> None:
    response = server.client.post(f"/ent/v2/{path}", json=body, headers=server.auth)
    answer = response.json()
    if isinstance(expect, int):
        assert response.status_code == 200, answer
        assert answer["credits"] == expect
        # what the clients read: task_id, state and created_at as strings, no code
        assert isinstance(answer["task_id"], str) and answer["state"] == "created"
        assert isinstance(answer["created_at"], str) and "code" not in answer
        assert answer["seed"] != 0
    else:
        assert answer["reason"] == expect, answer
        assert response.status_code == (404 if expect == "NotFound" else 400)
        assert answer["code"] == response.status_code


def test_vidu_mcp_poll_reads_creations_after_success(tmp_path: Path) -> None:
    for server in make_server(tmp_path):
        body = dict(VIDU_MCP[1][2], seed=0)
        task = server.client.post("/ent/v2/img2video", json=body, headers=server.auth).json()
        done = poll(server, task["task_id"])
        assert done["state"] == "success", done
        creation = done["creations"][0]
        assert all(isinstance(creation[k], str) and creation[k] for k in ("id", "url", "cover_url"))
        assert (creation["video"]["resolution"]["width"], creation["video"]["resolution"]["height"]) == (
            1080,
            1080,
        )
