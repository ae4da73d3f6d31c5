"""The diffusers backends behind the real API: tiny random-weight pipelines saved to folders, a model
map pointing public models at them, backends built and loaded by the registry, tasks created and
polled over HTTP, and the MP4/PNG creations checked against the contract's sizes."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from refgen.backends.base import GenerationBackend
from refgen.backends.diffusers_base import call_pipeline
from refgen.backends.registry import build_backends, model_routes
from refgen.domain import TaskKind
from refgen.files.local import LocalFileStore
from refgen.http.app import create_app
from refgen.keys import create_key
from refgen.media.video import probe
from refgen.runtime import build_runtime
from refgen.settings import Settings
from refgen.testing.store import MemoryStore
from refgen.testing.tiny_diffusers import (
    FLUX_TINY_OPTIONS,
    WAN_TINY_OPTIONS,
    save_tiny_flux2_klein,
    save_tiny_wan_vace,
)
from refgen.worker.groups import ThreadWorkers
from refgen.worker.loop import Worker, WorkerTiming
from tests.images import data_url, picture

pytestmark = pytest.mark.slow

FAST = WorkerTiming(lease_seconds=10.0, heartbeat_seconds=0.05, poll_seconds=0.02)
COLOURS = (
    (220, 60, 40),
    (40, 80, 220),
    (50, 180, 70),
    (230, 190, 30),
    (150, 60, 170),
    (30, 170, 170),
    (0, 0, 0),
)
REFS = [data_url(picture(160, 200, colour=c)) for c in COLOURS]


@dataclass
class Api:
    client: TestClient
    backends: dict[tuple[TaskKind, str], GenerationBackend]
    token: str
    model_map: dict[str, Any]

    def create(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = self.client.post(path, json=body, headers=self.auth)
        assert response.status_code == 200, response.json()
        result: dict[str, Any] = response.json()
        return result

    def poll(self, task_id: str, timeout: float = 60.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            body: dict[str, Any] = self.client.get(
                f"/ent/v2/tasks/{task_id}/creations", headers=self.auth
            ).json()
            if body["state"] in ("success", "failed"):
                return body
            assert time.monotonic() < deadline, f"task stuck in {body['state']}"
            time.sleep(0.05)

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Token {self.token}"}


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    pytest.importorskip("diffusers")
    root = tmp_path_factory.mktemp("gpu-api")
    wan = save_tiny_wan_vace(root / "Wan2.1-VACE-tiny")
    flux = save_tiny_flux2_klein(root / "FLUX.2-klein-tiny")
    model_map = {
        "viduq1": {"backend": "wan-vace", "weights": str(wan), "options": WAN_TINY_OPTIONS},
        "vidu2.0": {"backend": "wan-vace", "weights": str(wan), "options": WAN_TINY_OPTIONS},
        "viduq2": {"backend": "flux2-klein", "weights": str(flux), "options": FLUX_TINY_OPTIONS},
    }
    settings = Settings(data_dir=root / "data", model_map=model_map)  # type: ignore[call-arg]
    backends = build_backends(model_routes(settings.model_map))  # loaded once, shared per weights
    assert backends[(TaskKind.VIDEO, "viduq1")] is backends[(TaskKind.VIDEO, "vidu2.0")]
    store = MemoryStore()
    files = LocalFileStore(root / "files")
    workers = ThreadWorkers([Worker(store.queue, files, backends, timing=FAST)])
    runtime = build_runtime(settings, store=store, files=files, workers=workers)
    _, token = create_key(store.keys, runtime.cipher, "gpu-tester")
    with TestClient(create_app(runtime=runtime)) as client:
        yield Api(client, backends, token, model_map)
    for backend in set(backends.values()):
        backend.close()


@pytest.fixture
def wan(api: Api) -> Iterator[Any]:
    backend = api.backends[(TaskKind.VIDEO, "viduq1")]
    yield backend
    backend.runner = call_pipeline  # type: ignore[attr-defined]


def _download(api: Api, url: str, path: Path) -> Path:
    response = api.client.get(url)
    assert response.status_code == 200
    path.write_bytes(response.content)
    return path


def test_reference2video_through_the_api_makes_a_contract_mp4(api: Api, tmp_path: Path) -> None:
    body = {"model": "vidu2.0", "images": REFS[:3], "prompt": "three friends walk by the lake", "bgm": True}
    task = api.create("/ent/v2/reference2video", {**body, "seed": 9, "movement_amplitude": "large"})
    done = api.poll(task["task_id"])
    assert done["state"] == "success", done
    assert done["progress"] == 100
    [creation] = done["creations"]
    assert creation["video"] == {"duration": 4, "fps": 24, "resolution": {"width": 640, "height": 360}}
    info = probe(_download(api, creation["url"], tmp_path / "out.mp4"))
    assert (info.codec, info.width, info.height, info.frame_count) == ("h264", 640, 360, 96)
    assert info.fps == 24 and info.pix_fmt == "yuv420p" and info.has_audio and info.audio_codec == "aac"


def test_reference2video_1080p_with_seven_references(api: Api, tmp_path: Path) -> None:
    body = {"model": "viduq1", "images": REFS, "prompt": "seven friends in a park", "seed": 3}
    done = api.poll(api.create("/ent/v2/reference2video", body)["task_id"])
    assert done["state"] == "success", done
    [creation] = done["creations"]
    assert creation["video"]["resolution"] == {"width": 1920, "height": 1080}
    info = probe(_download(api, creation["url"], tmp_path / "q1.mp4"))
    assert (info.width, info.height, info.frame_count, info.has_audio) == (1920, 1080, 120, False)


@pytest.mark.parametrize(
    ("images", "resolution", "size"), [(0, "2K", (2560, 1440)), (3, "1080p", (1920, 1080))]
)
def test_reference2image_through_the_api_makes_a_contract_png(
    api: Api, images: int, resolution: str, size: tuple[int, int]
) -> None:
    body = {"model": "viduq2", "images": REFS[:images], "prompt": "a red cat", "resolution": resolution}
    done = api.poll(api.create("/ent/v2/reference2image", body)["task_id"])
    assert done["state"] == "success", done
    [creation] = done["creations"]
    response = api.client.get(creation["url"])
    assert response.status_code == 200 and response.headers["content-type"] == "image/png"
    with Image.open(io.BytesIO(response.content)) as image:
        assert image.format == "PNG" and image.size == size and image.mode == "RGB"
        assert np.asarray(image).std() > 0


def test_models_the_map_does_not_route_to_a_kind_are_unavailable(api: Api) -> None:
    body = {"model": "viduq2", "images": REFS[:1], "prompt": "a cat"}
    response = api.client.post("/ent/v2/reference2video", json=body, headers=api.auth)
    assert response.status_code == 400 and response.json()["reason"] == "ModelUnavailable"
    response = api.client.post("/ent/v2/reference2image", json={**body, "model": "viduq1"}, headers=api.auth)
    assert response.status_code == 400 and response.json()["reason"] == "ModelUnavailable"


def test_cancel_while_processing_interrupts_the_pipeline(api: Api, wan: Any) -> None:
    started = []

    def waits_for_cancel(pipe: Any, kwargs: dict[str, Any]) -> Any:
        control = kwargs["callback_on_step_end"]

        def step(p: Any, i: int, t: Any, k: dict[str, Any]) -> dict[str, Any]:
            started.append(i)
            deadline = time.monotonic() + 20
            while not p.interrupt and time.monotonic() < deadline:
                control(p, i, t, k)  # polls the task's cancel flag, sets the interrupt flag
                time.sleep(0.02)
            return {}

        return pipe(**{**kwargs, "callback_on_step_end": step})

    wan.runner = waits_for_cancel
    task = api.create("/ent/v2/reference2video", {"model": "vidu2.0", "images": REFS[:1], "prompt": "a cat"})
    deadline = time.monotonic() + 30
    while not started:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    response = api.client.post(f"/ent/v2/tasks/{task['task_id']}/cancel", headers=api.auth)
    assert response.status_code == 200
    done = api.poll(task["task_id"])
    assert (done["state"], done["err_code"], done["creations"], done["credits"]) == (
        "failed",
        "UserCancelled",
        [],
        0,
    )
    assert started == [0]  # the second step never ran


def test_out_of_memory_fails_the_task_and_the_worker_keeps_serving(api: Api, wan: Any) -> None:
    import torch

    def out_of_memory(pipe: Any, kwargs: dict[str, Any]) -> Any:
        raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 80.00 GiB")

    wan.runner = out_of_memory
    body = {"model": "vidu2.0", "images": REFS[:1], "prompt": "a cat"}
    failed = api.poll(api.create("/ent/v2/reference2video", body)["task_id"])
    assert (failed["state"], failed["err_code"], failed["credits"]) == ("failed", "OutOfMemory", 0)
    wan.runner = call_pipeline
    again = api.poll(api.create("/ent/v2/reference2video", body)["task_id"])
    assert again["state"] == "success", again


def test_refgen_backends_lists_the_map_and_loads_each(
    api: Api, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from refgen.cli import main

    monkeypatch.setenv("REFGEN_DATA_DIR", str(tmp_path / "data"))
    broken = {**api.model_map, "viduq2": {"backend": "flux2-klein", "weights": str(tmp_path / "nowhere")}}
    result = CliRunner().invoke(main, ["backends"], env={"REFGEN_MODEL_MAP": json.dumps(api.model_map)})
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert any(
        line.startswith("viduq1:reference2video") and "-> wan-vace" in line and line.endswith(": ok")
        for line in lines
    )
    assert any(
        line.startswith("viduq2:reference2image") and "-> flux2-klein" in line and line.endswith(": ok")
        for line in lines
    )
    result = CliRunner().invoke(main, ["backends"], env={"REFGEN_MODEL_MAP": json.dumps(broken)})
    assert result.exit_code == 1
    assert "viduq2:reference2image" in result.output and "FAILED" in result.output
    assert "does not exist" in result.output


@pytest.mark.parametrize(
    ("path", "images", "condition"),
    [
        ("/ent/v2/img2video", 1, "first frame"),
        ("/ent/v2/start-end2video", 2, "first and last frames"),
        ("/ent/v2/text2video", 0, "nothing"),
    ],
)
def test_video_family_through_the_api_runs_on_the_vace_backend(
    api: Api, wan: Any, tmp_path: Path, path: str, images: int, condition: str
) -> None:
    """One VACE backend serves every video endpoint: img2video conditions on the first frame,
    start-end2video on the first and last frames, text2video on nothing (only the prompt)."""
    seen: list[dict[str, Any]] = []

    def spy(pipe: Any, kwargs: dict[str, Any]) -> Any:
        seen.append(kwargs)
        return pipe(**kwargs)

    wan.runner = spy
    body: dict[str, Any] = {"model": "viduq1", "prompt": "a cat walks in the park", "seed": 5}
    if images:
        body["images"] = [data_url(picture(320, 180, colour=c)) for c in COLOURS[:images]]
    done = api.poll(api.create(path, body)["task_id"])
    assert done["state"] == "success", done
    [creation] = done["creations"]
    width, height = creation["video"]["resolution"]["width"], creation["video"]["resolution"]["height"]
    info = probe(_download(api, creation["url"], tmp_path / "family.mp4"))
    assert (info.codec, info.width, info.height) == ("h264", width, height)
    assert info.frame_count == creation["video"]["duration"] * 24
    [kwargs] = seen
    assert kwargs["reference_images"] is None
    known = [i for i, m in enumerate(kwargs.get("mask", [])) if np.asarray(m).max() == 0]
    expected = {"first frame": [0], "first and last frames": [0, kwargs["num_frames"] - 1], "nothing": []}
    assert known == expected[condition]
