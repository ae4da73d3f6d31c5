"""A new user's first hour: keys, both task kinds from data URLs and image URLs, crashes, restarts."""

from __future__ import annotations

import base64
import os
import signal
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from refgen.media.images import load_rgba
from refgen.media.video import is_faststart, probe
from tests.acceptance.conftest import RunningServer
from tests.images import picture

pytestmark = pytest.mark.slow

COLOURS = [(220, 40, 40), (40, 160, 60), (40, 70, 220)]


def pngs() -> list[bytes]:
    return [picture(640, 480, colour=c) for c in COLOURS]


def data_url(data: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(data).decode()


def wait(
    client: httpx.Client, task_id: str, until: tuple[str, ...] = ("success", "failed"), timeout: float = 240
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        body: dict[str, Any] = client.get(f"/ent/v2/tasks/{task_id}/creations").json()
        assert isinstance(body["creations"], list)
        if body["state"] in until:
            return body
        assert time.monotonic() < deadline, body
        time.sleep(0.5)


def download(url: str, path: Path) -> Path:
    response = httpx.get(url, timeout=60)
    assert response.status_code == 200
    path.write_bytes(response.content)
    return path


def has_colour(frame: np.ndarray, colour: tuple[int, int, int], tolerance: int = 40) -> bool:
    close = np.abs(frame[..., :3].astype(int) - np.array(colour)).max(axis=-1) < tolerance
    return bool(close.mean() > 0.002)


def middle_frame(path: Path) -> np.ndarray:
    import av

    with av.open(str(path)) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    return frames[len(frames) // 2]


def test_video_from_data_urls_is_exact_and_shows_the_references(
    refgen_server: RunningServer, tmp_path: Path
) -> None:
    with refgen_server.client() as client:
        created = client.post(
            "/ent/v2/reference2video",
            json={
                "model": "vidu1.5",
                "images": [data_url(p) for p in pngs()],
                "prompt": "three balloons drift",
                "resolution": "720p",
                "aspect_ratio": "9:16",
                "seed": "11",
                "watermark": "true",
            },
        )
        assert created.status_code == 200, created.text
        task = created.json()
        assert (task["state"], task["duration"], task["credits"], task["seed"]) == ("created", 4, 10, 11)
        done = wait(client, task["task_id"])
    assert done["state"] == "success", done
    [creation] = done["creations"]
    video = download(creation["url"], tmp_path / "video.mp4")
    info = probe(video)
    assert (info.codec, info.pix_fmt, info.width, info.height) == ("h264", "yuv420p", 720, 1280)
    assert info.frame_count == 96 and abs(info.fps - 24) < 1e-6 and abs(info.duration - 4.0) < 1e-6
    assert is_faststart(video)
    frame = middle_frame(video)
    assert all(has_colour(frame, c) for c in COLOURS), "the references are not visible in the video"
    assert download(creation["cover_url"], tmp_path / "cover.jpg").read_bytes()[:2] == b"\xff\xd8"
    assert probe(download(creation["watermarked_url"], tmp_path / "wm.mp4")).frame_count == 96


def test_image_from_image_urls(
    refgen_server: RunningServer, picture_host: tuple[str, Path], tmp_path: Path
) -> None:
    base, folder = picture_host
    for i, data in enumerate(pngs()):
        (folder / f"p{i}.png").write_bytes(data)
    with refgen_server.client() as client:
        created = client.post(
            "/ent/v2/reference2image",
            json={
                "model": "viduq2",
                "images": [f"{base}/p{i}.png" for i in range(3)],
                "prompt": "a group portrait",
                "aspect_ratio": "1:1",
            },
        )
        assert created.status_code == 200, created.text
        done = wait(client, created.json()["task_id"])
        missing = client.post(
            "/ent/v2/reference2image", json={"model": "viduq2", "images": [f"{base}/nope.png"], "prompt": "p"}
        )
        assert missing.status_code == 400 and missing.json()["reason"] == "ImageDownloadFailure"
    assert done["state"] == "success", done
    image = load_rgba(download(done["creations"][0]["url"], tmp_path / "image.png"))
    assert image.shape[:2] == (1080, 1080)
    assert all(has_colour(image, c) for c in COLOURS)


def test_killed_worker_is_replaced_and_its_task_still_succeeds(refgen_server: RunningServer) -> None:
    with refgen_server.client() as client:
        task = client.post(
            "/ent/v2/reference2video",
            json={
                "model": "viduq2",
                "images": [data_url(pngs()[0])],
                "prompt": "a red balloon",
                "duration": 10,
                "resolution": "1080p",
            },
        ).json()
        assert wait(client, task["task_id"], until=("processing", "success"))["state"] == "processing"
        [worker] = refgen_server.workers()
        os.kill(worker, signal.SIGKILL)
        done = wait(client, task["task_id"])
    assert done["state"] == "success", done
    assert refgen_server.workers() and refgen_server.workers() != [worker]


def test_server_crash_loses_no_task(refgen_server: RunningServer) -> None:
    with refgen_server.client() as client:
        first = {"model": "viduq2", "duration": 10, "resolution": "1080p", "images": [data_url(pngs()[0])]}
        bodies = [{**first, "prompt": "balloons"}]
        bodies += [{"model": "vidu2.0", "images": [data_url(p)], "prompt": "balloons"} for p in pngs()[1:]]
        ids = [client.post("/ent/v2/reference2video", json=body).json()["task_id"] for body in bodies]
        assert wait(client, ids[0], until=("processing", "success"))["state"] == "processing"
    refgen_server.kill()
    refgen_server.start()
    with refgen_server.client() as client:
        states = [wait(client, task_id)["state"] for task_id in ids]
    assert states == ["success"] * 3
