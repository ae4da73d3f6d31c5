"""``AsyncClient`` against the real app through ``httpx.ASGITransport``."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from refgen.client import Generation, NotFoundError, TaskFailedError, VideoTask
from refgen.media.video import probe
from tests.conftest import Server
from tests.images import picture
from tests.unit.client.conftest import async_client

pytestmark = pytest.mark.anyio


async def test_async_client_waits_on_many_tasks_at_once(server: Server, tmp_path: Path) -> None:
    async with async_client(server) as client:
        tasks = await asyncio.gather(
            *(
                client.reference2video(
                    model="vidu2.0", images=[picture(colour=(40 * i, 90, 90))], prompt=f"n{i}"
                )
                for i in range(4)
            )
        )
        assert all(isinstance(t, VideoTask) for t in tasks)
        polls: list[str] = []

        async def record(generation: Generation) -> None:
            polls.append(generation.id)

        done = await asyncio.gather(*(client.wait(t, on_progress=record, interval=0.01) for t in tasks))
        assert [d.id for d in done] == [t.task_id for t in tasks]
        assert all(d.succeeded for d in done) and set(polls) == {t.task_id for t in tasks}

        chunks: list[int] = []
        path = await client.download(
            done[0], tmp_path / "a.mp4", chunk_size=2048, on_progress=lambda n, _: chunks.append(n)
        )
        assert probe(path).codec == "h264" and len(chunks) > 1 and chunks[-1] == path.stat().st_size


async def test_async_client_every_image_kind_and_field(server: Server, pictures: dict[str, Path]) -> None:
    from PIL import Image

    server.fetcher.images["https://pics.example.com/x.jpg"] = picture(256, 256, fmt="JPEG")
    async with async_client(server) as client:
        task = await client.reference2video(
            model="viduq2",
            images=[
                pictures["a.png"],
                pictures["b.jpg"].read_bytes(),
                Image.new("RGB", (256, 256)),
                "https://pics.example.com/x.jpg",
            ],
            prompt="four",
            duration=2,
            resolution="540p",
            aspect_ratio="4:3",
            movement_amplitude="small",
            bgm=False,
            seed=5,
            off_peak=False,
            watermark=True,
            wm_position=1,
            payload="pl",
            callback_url="https://hooks.example.com/a",
            meta_data="md",
        )
    assert (task.duration, task.resolution, task.aspect_ratio, task.seed, task.watermark, task.credits) == (
        2,
        "540p",
        "4:3",
        5,
        True,
        2,
    )
    assert [i[:15] for i in task.images[:3]] == ["data:image/png;", "data:image/jpeg", "data:image/png;"]
    spec = server.store.tasks.get_task(task.task_id).spec  # type: ignore[union-attr]
    assert (spec.wm_position, spec.callback_url, spec.meta_data, spec.movement_amplitude) == (
        1,
        "https://hooks.example.com/a",
        "md",
        "small",
    )


async def test_async_client_cancel_and_errors(idle_server: Server) -> None:
    async with async_client(idle_server) as client:
        task = await client.reference2image(model="viduq1", images=[picture()], prompt="p")
        await client.cancel(task)
        with pytest.raises(TaskFailedError) as failed:
            await client.wait(task.task_id, interval=0.01)
        assert failed.value.reason == "UserCancelled"
        with pytest.raises(NotFoundError) as missing:
            await client.get("nope")
        assert missing.value.reason == "TaskNotFound" and len(missing.value.trace_id) == 32


async def test_async_client_closes_its_transport(server: Server) -> None:
    client = async_client(server)
    async with client:
        await client.get((await client.reference2image(model="viduq2", prompt="x")).task_id)
    with pytest.raises(RuntimeError, match="closed"):
        await client.get("any")
