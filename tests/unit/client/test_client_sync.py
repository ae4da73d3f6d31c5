"""``Client`` against the real app: every field through, every kind of image, wait, cancel, download."""

from __future__ import annotations

import base64
import io
import threading
from pathlib import Path

import pytest
from PIL import Image

from refgen.client import (
    AuthenticationError,
    Client,
    Generation,
    ImageTask,
    InvalidRequestError,
    NotFoundError,
    TaskFailedError,
    VideoTask,
    WaitTimeoutError,
)
from refgen.media.video import probe
from tests.conftest import Server
from tests.images import picture
from tests.unit.client.conftest import sync_client

WM = picture(256, 256, colour=(10, 10, 200))


def decoded(url: str) -> bytes:
    assert url.startswith("data:")
    return base64.b64decode(url.split(",", 1)[1])


def test_client_reference2video_sends_every_field(
    client: Client, server: Server, pictures: dict[str, Path]
) -> None:
    task = client.reference2video(
        model="vidu1.5",
        images=[pictures["a.png"], str(pictures["b.jpg"])],
        prompt="two friends by a lake",
        duration=4,
        resolution="720p",
        aspect_ratio="9:16",
        movement_amplitude="large",
        bgm=True,
        seed=42,
        off_peak=True,
        watermark=True,
        wm_position=2,
        wm_url=WM,
        payload="my-payload",
        callback_url="https://hooks.example.com/vidu?x=1",
        meta_data='{"k": "v"}',
    )
    assert isinstance(task, VideoTask)
    assert (task.model, task.prompt, task.duration, task.resolution, task.aspect_ratio) == (
        "vidu1.5",
        "two friends by a lake",
        4,
        "720p",
        "9:16",
    )
    assert (task.movement_amplitude, task.bgm, task.seed, task.off_peak, task.watermark) == (
        "large",
        True,
        42,
        True,
        True,
    )
    assert task.payload == "my-payload" and task.credits == 5 and task.state == "created"
    assert task.created_at is not None and task.created_at.tzinfo is not None
    assert decoded(task.images[0]) == pictures["a.png"].read_bytes()
    assert task.images[1].startswith("data:image/jpeg;base64,")
    spec = server.store.tasks.get_task(task.task_id).spec  # type: ignore[union-attr]
    assert (spec.wm_position, spec.callback_url, spec.meta_data) == (
        2,
        "https://hooks.example.com/vidu?x=1",
        '{"k": "v"}',
    )
    stored = server.store.tasks.get_task(task.task_id)
    assert stored is not None and stored.watermark_key is not None


def test_client_reference2image_sends_every_field(client: Client, server: Server) -> None:
    task = client.reference2image(
        model="viduq2",
        images=[picture(300, 200)],
        prompt="a poster",
        aspect_ratio="21:9",
        resolution="2K",
        seed=9,
        payload="p",
        callback_url="https://hooks.example.com/done",
    )
    assert isinstance(task, ImageTask)
    assert (task.model, task.aspect_ratio, task.resolution, task.seed, task.payload, task.credits) == (
        "viduq2",
        "21:9",
        "2K",
        9,
        "p",
        2,
    )
    assert task.callback_url == "https://hooks.example.com/done"
    assert task.images[0].startswith("data:image/png;base64,")


def test_client_images_as_path_bytes_pil_and_url(
    client: Client, server: Server, pictures: dict[str, Path]
) -> None:
    server.fetcher.images["https://pics.example.com/d.png"] = picture(200, 200)
    pil = Image.new("RGBA", (200, 300), (0, 128, 0, 255))
    task = client.reference2video(
        model="vidu2.0",
        images=[
            pictures["a.png"],
            str(pictures["c.webp"]),
            pictures["b.jpg"].read_bytes(),
            pil,
            "https://pics.example.com/d.png",
        ],
        prompt="five things",
    )
    kinds = [url.split(";", 1)[0] for url in task.images[:4]]
    assert kinds == ["data:image/png", "data:image/webp", "data:image/jpeg", "data:image/png"]
    assert Image.open(io.BytesIO(decoded(task.images[3]))).size == (200, 300)
    assert task.images[4] == "https://pics.example.com/d.png"
    assert server.fetcher.requested == ["https://pics.example.com/d.png"]


def test_client_text_to_image_needs_no_images(client: Client) -> None:
    task = client.reference2image(model="viduq2", prompt="a red kite")
    assert task.images == [] and task.resolution == "1080p"


def test_client_wait_reports_progress_and_downloads(client: Client, tmp_path: Path) -> None:
    task = client.reference2video(model="vidu2.0", images=[picture()], prompt="a ball", seed=3)
    seen: list[Generation] = []
    done = client.wait(task, on_progress=seen.append, interval=0.01, max_interval=0.05)
    assert done.succeeded and done.progress == 100 and len(done.creations) == 1
    assert seen[-1] == done and all(isinstance(g, Generation) for g in seen)
    assert done.creations[0].video is not None
    assert done.creations[0].video.resolution.width == 640

    chunks: list[tuple[int, int | None]] = []
    path = client.download(
        task.task_id, tmp_path / "out" / "ball.mp4", on_progress=lambda *a: chunks.append(a), chunk_size=1024
    )
    assert path == tmp_path / "out" / "ball.mp4"
    info = probe(path)
    assert (info.codec, info.width, info.height, info.duration) == (
        "h264",
        640,
        360,
        pytest.approx(4.0, abs=0.05),
    )
    size = path.stat().st_size
    assert len(chunks) > 1 and chunks[-1] == (size, size)
    assert [p.name for p in path.parent.iterdir()] == ["ball.mp4"]  # no .part left behind

    cover = client.download(done, tmp_path, which="cover_url")
    assert cover.parent == tmp_path and cover.read_bytes()[:3] == b"\xff\xd8\xff"


def test_client_download_refuses_unfinished_and_missing(idle_server: Server, tmp_path: Path) -> None:
    with sync_client(idle_server) as client:
        task = client.reference2video(model="vidu2.0", images=[picture()], prompt="waits")
        with pytest.raises(InvalidRequestError, match=r"is (queueing|created)"):
            client.download(task, tmp_path / "x.mp4")
        with pytest.raises(WaitTimeoutError) as timed_out:
            client.wait(task, timeout=0.1, interval=0.02)
        assert timed_out.value.generation.state in ("created", "queueing")
        assert timed_out.value.reason == "WaitTimeout"
        assert not (tmp_path / "x.mp4").exists()


def test_client_cancel_ends_the_task_failed(slow_server: Server) -> None:
    with sync_client(slow_server) as client:
        task = client.reference2video(model="vidu2.0", images=[picture()], prompt="slow")
        client.cancel(task.task_id)
        with pytest.raises(TaskFailedError) as failed:
            client.wait(task, interval=0.01)
        assert failed.value.reason == "UserCancelled"
        assert failed.value.generation.credits == 0
        final = client.wait(task, raise_on_failure=False)
        assert final.failed and final.err_code == "UserCancelled"
        with pytest.raises(InvalidRequestError) as again:
            client.cancel(task)
        assert again.value.reason == "BadRequest" and "can not cancel" in again.value.message
        with pytest.raises(TaskFailedError):
            client.download(final, "never.mp4")


def test_client_cancel_while_processing(slow_server: Server) -> None:
    with sync_client(slow_server) as client:
        task = client.reference2video(model="vidu2.0", images=[picture()], prompt="slow")
        started = threading.Event()

        def watch(generation: Generation) -> None:
            if generation.state == "processing" and not started.is_set():
                started.set()
                client.cancel(generation)

        final = client.wait(task, on_progress=watch, interval=0.01, raise_on_failure=False)
        assert started.is_set() and final.err_code == "UserCancelled"


def test_client_errors_carry_the_error_body(client: Client, server: Server) -> None:
    with pytest.raises(NotFoundError) as missing:
        client.get("no-such-task")
    error = missing.value
    assert (error.code, error.reason, error.status_code) == (404, "TaskNotFound", 404)
    assert len(error.trace_id) == 32 and error.trace_id in str(error)

    with pytest.raises(InvalidRequestError) as too_many:
        client.reference2video(model="vidu2.0", images=[picture()] * 8, prompt="eight")
    assert too_many.value.reason == "FieldItemCountOutOfRange" and "images" in too_many.value.message
    assert too_many.value.code == 400

    with pytest.raises(InvalidRequestError) as bad_model:
        client.reference2video(model="vidu9", images=[picture()], prompt="x")
    assert bad_model.value.reason == "FieldInvalid"

    with sync_client(server, api_key="rg_not-a-key") as stranger, pytest.raises(AuthenticationError) as auth:
        stranger.get("anything")
    assert (auth.value.code, auth.value.reason) == (401, "Unauthorized") and auth.value.trace_id


def test_client_without_a_key_fails_before_sending(server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("REFGEN_API_KEY", "VIDU_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    with (
        sync_client(server, api_key=None) as anonymous,
        pytest.raises(AuthenticationError, match="REFGEN_API_KEY"),
    ):
        anonymous.get("x")


def test_client_task_of_another_key_is_not_found(client: Client, server: Server) -> None:
    task = client.reference2image(model="viduq2", prompt="mine")
    with sync_client(server, api_key=server.new_token("other")) as other, pytest.raises(NotFoundError):
        other.get(task)


def test_client_unknown_image_input_is_a_type_error(client: Client) -> None:
    with pytest.raises(TypeError, match="URL, a path, bytes or a PIL image"):
        client.reference2video(model="vidu2.0", images=[12345], prompt="x")  # type: ignore[list-item]
    with pytest.raises(FileNotFoundError):
        client.reference2video(model="vidu2.0", images=["/no/such/file.png"], prompt="x")
