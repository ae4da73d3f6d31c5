from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from refgen.backends.base import GenerationBackend
from refgen.domain import TaskKind
from refgen.errors import BackendError, GenerationCancelled
from refgen.generation import GenerationJob, ImageOutput, VideoOutput
from refgen.testing.backends import FakeBackend


def test_fake_backend_video_frames_progress_and_records(
    video_job: Callable[..., GenerationJob], cancel_token: Callable[..., object]
) -> None:
    fake = FakeBackend(steps=3)
    assert isinstance(fake, GenerationBackend) and fake.name == "fake"
    progress: list[tuple[int, int]] = []
    job = video_job((), seed=5, bgm=True)
    out = fake.generate(job, lambda i, n: progress.append((i, n)), cancel_token())  # type: ignore[arg-type]
    assert isinstance(out, VideoOutput)
    frames = list(out.frames)
    assert len(frames) == out.frame_count == 24
    assert frames[0].shape == (180, 320, 3) and tuple(frames[0][0, 0]) == FakeBackend.color(5)
    assert out.audio is not None and out.audio.shape == (2, 48_000)
    assert progress == [(1, 3), (2, 3), (3, 3)]
    assert fake.jobs == [job]


def test_fake_backend_image(cancel_token: Callable[..., object]) -> None:
    job = GenerationJob(
        task_id="t",
        kind=TaskKind.IMAGE,
        model="m",
        prompt="p",
        references=(Path("x"),),
        width=64,
        height=48,
        seed=1,
    )
    out = FakeBackend().generate(job, lambda i, n: None, cancel_token())  # type: ignore[arg-type]
    assert isinstance(out, ImageOutput) and out.image.shape == (48, 64, 3)
    assert np.all(out.image == np.array(FakeBackend.color(1), np.uint8))


def test_fake_backend_cancel_and_delay(
    video_job: Callable[..., GenerationJob], cancel_token: Callable[..., object]
) -> None:
    slept: list[float] = []
    fake = FakeBackend(delay_per_step=0.5, steps=10, sleep=slept.append)
    with pytest.raises(GenerationCancelled):
        fake.generate(video_job(()), lambda i, n: None, cancel_token(after=3))  # type: ignore[arg-type]
    assert slept == [0.5, 0.5, 0.5]


def test_fake_backend_fails_with(
    video_job: Callable[..., GenerationJob], cancel_token: Callable[..., object]
) -> None:
    fake = FakeBackend(fail_with=BackendError("boom"))
    with pytest.raises(BackendError, match="boom"):
        fake.generate(video_job(()), lambda i, n: None, cancel_token())  # type: ignore[arg-type]
    assert len(fake.jobs) == 1
