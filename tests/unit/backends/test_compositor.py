from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from refgen.backends.base import GenerationBackend, GenerationJob, ImageOutput, VideoOutput
from refgen.backends.compositor import CompositorBackend, movement_factor
from refgen.domain import TaskKind
from refgen.errors import GenerationCancelled

JobFactory = Callable[..., GenerationJob]
SUBJECT_COLORS = ((220, 30, 30), (30, 60, 220), (40, 190, 60))


def _noop(step: int, total: int) -> None:
    pass


def _video(backend: CompositorBackend, job: GenerationJob, cancel: object) -> list[np.ndarray]:
    out = backend.generate(job, _noop, cancel)  # type: ignore[arg-type]
    assert isinstance(out, VideoOutput)
    return list(out.frames)


def _share_near(frame: np.ndarray, color: tuple[int, int, int], tol: int = 40) -> float:
    return float(np.mean(np.all(np.abs(frame.astype(int) - color) < tol, axis=2)))


def _motion(frames: list[np.ndarray]) -> float:
    return float(np.mean([np.abs(a.astype(np.int16) - b).mean() for a, b in itertools.pairwise(frames)]))


@pytest.fixture(scope="module")
def backend() -> CompositorBackend:
    b = CompositorBackend()
    b.load()
    return b


def test_compositor_meets_the_backend_contract(backend: CompositorBackend) -> None:
    assert isinstance(backend, GenerationBackend)
    assert backend.name == "compositor"
    assert backend.supports(TaskKind.VIDEO) and backend.supports(TaskKind.IMAGE)


def test_compositor_video_frames_count_shape_and_colours(
    backend: CompositorBackend,
    references: tuple[Path, ...],
    video_job: JobFactory,
    cancel_token: Callable[..., object],
) -> None:
    progress: list[tuple[int, int]] = []
    out = backend.generate(video_job(references), lambda i, n: progress.append((i, n)), cancel_token())  # type: ignore[arg-type]
    assert isinstance(out, VideoOutput)
    assert out.frame_count == 24 and out.fps == 24 and out.audio is None
    frames = list(out.frames)
    assert len(frames) == 24
    assert all(f.shape == (180, 320, 3) and f.dtype == np.uint8 for f in frames)
    for color in SUBJECT_COLORS:
        assert _share_near(frames[0], color) > 0.02, color
        assert _share_near(frames[-1], color) > 0.02, color
    # subjects in the order given: red left of blue left of green
    centres = [
        np.nonzero(np.all(np.abs(frames[0].astype(int) - c) < 40, axis=2))[1].mean() for c in SUBJECT_COLORS
    ]
    assert centres == sorted(centres)
    assert progress[-1] == (24, 24) and len(progress) >= 4


def test_compositor_is_deterministic_per_seed(
    references: tuple[Path, ...], video_job: JobFactory, cancel_token: Callable[..., object]
) -> None:
    a = _video(CompositorBackend(), video_job(references, seed=11), cancel_token())
    b = _video(CompositorBackend(), video_job(references, seed=11), cancel_token())
    c = _video(CompositorBackend(), video_job(references, seed=12), cancel_token())
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    assert np.abs(a[0].astype(int) - c[0]).mean() > 5
    assert np.abs(a[-1].astype(int) - c[-1]).mean() > 5


def test_compositor_movement_small_less_than_large(
    backend: CompositorBackend,
    references: tuple[Path, ...],
    video_job: JobFactory,
    cancel_token: Callable[..., object],
) -> None:
    motion = {
        amp: _motion(_video(backend, video_job(references, amplitude=amp), cancel_token()))
        for amp in ("small", "medium", "large")
    }
    assert 0 < motion["small"] < motion["medium"] < motion["large"]


def test_compositor_motion_is_smooth(
    backend: CompositorBackend,
    references: tuple[Path, ...],
    video_job: JobFactory,
    cancel_token: Callable[..., object],
) -> None:
    frames = _video(backend, video_job(references, amplitude="large", duration=2), cancel_token())
    steps = [np.abs(a.astype(np.int16) - b).mean() for a, b in itertools.pairwise(frames)]
    assert max(steps) < 4 * (np.median(steps) + 0.5)


def test_movement_factor_auto_reads_the_prompt() -> None:
    assert movement_factor("auto", "two kids run and jump on the beach") == movement_factor("large", "")
    assert movement_factor("auto", "a calm portrait by the window") == movement_factor("small", "")
    assert movement_factor("auto", "two friends by a lake") == movement_factor("medium", "")


def test_compositor_cancel_raises(
    backend: CompositorBackend,
    references: tuple[Path, ...],
    video_job: JobFactory,
    cancel_token: Callable[..., object],
) -> None:
    token = cancel_token(after=8)
    out = backend.generate(video_job(references), _noop, token)  # type: ignore[arg-type]
    assert isinstance(out, VideoOutput)
    produced = 0
    with pytest.raises(GenerationCancelled):
        for _ in out.frames:
            produced += 1
    assert produced < out.frame_count


def test_compositor_cancel_before_start(
    backend: CompositorBackend,
    references: tuple[Path, ...],
    video_job: JobFactory,
    cancel_token: Callable[..., object],
) -> None:
    with pytest.raises(GenerationCancelled):
        backend.generate(video_job(references), _noop, cancel_token(after=0))  # type: ignore[arg-type]


def test_compositor_image_job(
    backend: CompositorBackend, references: tuple[Path, ...], cancel_token: Callable[..., object]
) -> None:
    job = GenerationJob(
        task_id="i1",
        kind=TaskKind.IMAGE,
        model="viduq2",
        prompt="three friends",
        references=references,
        width=400,
        height=300,
        seed=3,
    )
    out = backend.generate(job, _noop, cancel_token())  # type: ignore[arg-type]
    assert isinstance(out, ImageOutput)
    assert out.image.shape == (300, 400, 3) and out.image.dtype == np.uint8
    for color in SUBJECT_COLORS:
        assert _share_near(out.image, color) > 0.02


def test_compositor_text_only_image_job(
    backend: CompositorBackend, cancel_token: Callable[..., object]
) -> None:
    def job(prompt: str, seed: int) -> GenerationJob:
        return GenerationJob(
            task_id="i2",
            kind=TaskKind.IMAGE,
            model="viduq2",
            prompt=prompt,
            references=(),
            width=320,
            height=180,
            seed=seed,
        )

    blue = backend.generate(job("a blue sea under a blue sky", 1), _noop, cancel_token())  # type: ignore[arg-type]
    red = backend.generate(job("a red desert at sunset", 1), _noop, cancel_token())  # type: ignore[arg-type]
    again = backend.generate(job("a red desert at sunset", 1), _noop, cancel_token())  # type: ignore[arg-type]
    assert isinstance(blue, ImageOutput) and isinstance(red, ImageOutput) and isinstance(again, ImageOutput)
    assert blue.image.shape == (180, 320, 3)
    assert np.array_equal(red.image, again.image)
    b_mean, r_mean = blue.image.reshape(-1, 3).mean(axis=0), red.image.reshape(-1, 3).mean(axis=0)
    assert b_mean[2] > b_mean[0] and r_mean[0] > r_mean[2]


def test_compositor_bgm_audio_matches_video_length(
    backend: CompositorBackend,
    references: tuple[Path, ...],
    video_job: JobFactory,
    cancel_token: Callable[..., object],
) -> None:
    out = backend.generate(video_job(references, bgm=True, duration=2), _noop, cancel_token())  # type: ignore[arg-type]
    assert isinstance(out, VideoOutput) and out.audio is not None
    assert out.audio.shape == (2, 2 * out.sample_rate) and out.audio.dtype == np.float32
    assert out.sample_rate == 48_000
    assert 0.05 < float(np.abs(out.audio).max()) <= 1.0


def test_compositor_masks_are_cached_by_content(
    references: tuple[Path, ...], video_job: JobFactory, cancel_token: Callable[..., object], tmp_path: Path
) -> None:
    backend = CompositorBackend()
    backend.generate(video_job(references[:1]), _noop, cancel_token())  # type: ignore[arg-type]
    copy = tmp_path / "copy.png"
    copy.write_bytes(references[0].read_bytes())
    started = time.perf_counter()
    backend.generate(video_job((copy,)), _noop, cancel_token())  # type: ignore[arg-type]
    assert len(backend._masks) == 1  # same bytes, one cached mask
    assert time.perf_counter() - started < 1.0


@pytest.mark.parametrize("count", [1, 2, 4, 5, 7])
def test_compositor_lays_out_1_to_7_subjects(
    backend: CompositorBackend,
    make_reference: Callable[..., Path],
    video_job: JobFactory,
    cancel_token: Callable[..., object],
    tmp_path: Path,
    count: int,
) -> None:
    refs = tuple(
        make_reference(tmp_path / f"{i}.png", SUBJECT_COLORS[i % 3], alpha=True, size=(240 + 40 * i, 320))
        for i in range(count)
    )
    out = backend.generate(
        GenerationJob(
            task_id="i",
            kind=TaskKind.IMAGE,
            model="viduq2",
            prompt="p",
            references=refs,
            width=320,
            height=568 if count == 4 else 180,
            seed=1,
        ),
        _noop,
        cancel_token(),  # type: ignore[arg-type]
    )
    assert isinstance(out, ImageOutput)
    for i in range(min(count, 3)):
        assert _share_near(out.image, SUBJECT_COLORS[i]) > 0.005


@pytest.mark.slow
def test_compositor_renders_1080p_quickly(
    backend: CompositorBackend,
    references: tuple[Path, ...],
    video_job: JobFactory,
    cancel_token: Callable[..., object],
) -> None:
    out = backend.generate(video_job(references, width=1920, height=1080, duration=2), _noop, cancel_token())  # type: ignore[arg-type]
    assert isinstance(out, VideoOutput)
    started = time.perf_counter()
    count = sum(1 for f in out.frames if f.shape == (1080, 1920, 3))
    elapsed = time.perf_counter() - started
    assert count == 48
    assert elapsed < 48 / 10  # well above 10 fps even on a small CI machine
