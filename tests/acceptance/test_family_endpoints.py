"""The video family through the installed server: text2video, img2video, start-end2video, the
subjects form and a speaking track, each created over HTTP, rendered by the compositor in a worker
process, downloaded and decoded."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import av
import cv2
import httpx
import numpy as np
import pytest

from refgen.media.video import probe, read_frames
from tests.acceptance.conftest import RunningServer
from tests.acceptance.test_embedded_server import data_url, download, wait
from tests.images import picture
from tests.services import unavailable

pytestmark = pytest.mark.slow


def create(client: httpx.Client, endpoint: str, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post(f"/ent/v2/{endpoint}", json=body)
    assert response.status_code == 200, response.text
    done = wait(client, response.json()["task_id"])
    assert done["state"] == "success", done
    return done


def frames_of(done: dict[str, Any], path: Path) -> list[np.ndarray]:
    return list(read_frames(download(done["creations"][0]["url"], path)))


def thumb(image: np.ndarray) -> np.ndarray:
    return cv2.resize(image, (32, 32), interpolation=cv2.INTER_AREA).astype(np.float64)


def covered(png: bytes, width: int, height: int) -> np.ndarray:
    """The picture cover-scaled to ``width``×``height``, as RGB."""
    image = cv2.cvtColor(cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    h, w = image.shape[:2]
    scale = max(width / w, height / h)
    resized = cv2.resize(image, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
    top, left = (resized.shape[0] - height) // 2, (resized.shape[1] - width) // 2
    return np.asarray(resized[top : top + height, left : left + width])


def difference(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(thumb(a) - thumb(b)).mean())


def test_family_img2video_starts_on_the_picture_and_moves(
    refgen_server: RunningServer, tmp_path: Path
) -> None:
    png = picture(640, 360, colour=(40, 90, 200))
    with refgen_server.client() as client:
        done = create(
            client,
            "img2video",
            {"model": "vidu2.0", "images": [data_url(png)], "prompt": "", "movement_amplitude": "large"},
        )
    frames = frames_of(done, tmp_path / "i2v.mp4")
    assert len(frames) == 96 and frames[0].shape == (360, 640, 3)  # the picture's 16:9 at 360p
    assert difference(frames[0], covered(png, 640, 360)) < 20
    assert difference(frames[0], frames[-1]) > 1, "img2video did not move"


def test_family_start_end2video_starts_and_ends_on_its_pictures(
    refgen_server: RunningServer, tmp_path: Path
) -> None:
    start = picture(512, 512, colour=(210, 50, 40))
    end = picture(512, 512, colour=(40, 170, 70), background=(30, 30, 60))
    with refgen_server.client() as client:
        done = create(
            client, "start-end2video", {"model": "vidu2.0", "images": [data_url(start), data_url(end)]}
        )
    frames = frames_of(done, tmp_path / "se.mp4")
    assert frames[0].shape == (360, 360, 3)
    assert difference(frames[0], covered(start, 360, 360)) < 20
    assert difference(frames[-1], covered(end, 360, 360)) < 20


def test_family_text2video_moves(refgen_server: RunningServer, tmp_path: Path) -> None:
    with refgen_server.client() as client:
        done = create(
            client, "text2video", {"model": "vidu1.5", "prompt": "a lighthouse at dusk over the sea"}
        )
    frames = frames_of(done, tmp_path / "t2v.mp4")
    assert len(frames) == 96 and frames[0].shape == (360, 640, 3)
    assert difference(frames[0], frames[-1]) > 1, "text2video did not move"


def test_family_subjects_form_with_one_to_three_pictures_each(
    refgen_server: RunningServer, tmp_path: Path
) -> None:
    subjects = [
        {"id": "cat", "images": [data_url(picture(colour=(200, 60, 40)))]},
        {"id": "dog", "images": [data_url(picture(colour=(40, 160, 60))) for _ in range(2)]},
        {"id": "kite", "images": [data_url(picture(colour=(40, 70, 220))) for _ in range(3)]},
    ]
    body = {"model": "viduq2", "subjects": subjects, "prompt": "@cat chases @dog under @kite", "duration": 2}
    with refgen_server.client() as client:
        done = create(client, "reference2video", body)
    info = probe(download(done["creations"][0]["url"], tmp_path / "subjects.mp4"))
    assert (info.frame_count, info.height) == (48, 720)  # viduq2 defaults to 720p


def test_family_audio_carries_speech(refgen_server: RunningServer, tmp_path: Path) -> None:
    body = {
        "model": "vidu2.0",
        "images": [data_url(picture(640, 360))],
        "prompt": 'she looks up and says "the rain has finally stopped"',
        "audio": True,
    }
    with refgen_server.client() as client:
        models = client.get("/ent/v2/models").json()
        if not models["img2video"]["vidu2.0"]["speaks"]:
            unavailable("no speech synthesizer on this machine (scripts/install-speech.sh)")
        done = create(client, "img2video", body)
    video = download(done["creations"][0]["url"], tmp_path / "speech.mp4")
    with av.open(str(video)) as container:
        samples = np.concatenate([chunk.to_ndarray() for chunk in container.decode(audio=0)], axis=1)
    mono = samples.mean(axis=0)
    rate = 48_000
    window = rate // 50  # 20 ms
    rms = np.sqrt(np.mean(mono[: len(mono) // window * window].reshape(-1, window) ** 2, axis=1))
    lead_in = rms[: int(0.3 * 50)]  # speech starts after a short lead-in
    speech = rms[int(0.5 * 50) : int(2.5 * 50)]
    assert float(np.percentile(speech, 75)) > 5 * max(float(np.median(lead_in)), 1e-4)
