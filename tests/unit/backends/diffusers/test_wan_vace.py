"""The wan-vace backend on a tiny random-weight WanVACEPipeline, loaded by its own loader (CPU)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from refgen.backends.base import GenerationBackend
from refgen.backends.diffusers_base import call_pipeline
from refgen.backends.wan_vace import (
    AMPLITUDE_PROMPTS,
    WanVaceBackend,
    frame_count_for,
    negative_prompt_for,
    plan_video,
    segment_lengths,
)
from refgen.domain import TaskKind
from refgen.errors import BackendError, BackendUnavailable, GenerationCancelled, OutOfMemory
from refgen.generation import GenerationJob, VideoOutput
from refgen.testing.tiny_diffusers import WAN_TINY_OPTIONS
from tests.unit.backends.diffusers.runners import counting_steps


class Cancel:
    def __init__(self, after: int | None = None) -> None:
        self.after, self.polls = after, 0

    def is_cancelled(self) -> bool:
        self.polls += 1
        return self.after is not None and self.polls > self.after


def _job(references: tuple[Path, ...], **kw: Any) -> GenerationJob:
    fields: dict[str, Any] = {
        "task_id": "v",
        "kind": TaskKind.VIDEO,
        "model": "viduq1",
        "prompt": "two friends walk by the lake",
        "references": references,
        "width": 48,
        "height": 24,
        "seed": 11,
        "duration": 1,
    }
    fields.update(kw)
    return GenerationJob(**fields)


def _frames(output: VideoOutput) -> np.ndarray:
    return np.stack(list(output.frames))


# ---------------------------------------------------------------- the plan (no model needed)


@pytest.mark.parametrize(
    ("size", "large", "native"),
    [
        ((1920, 1080), True, (1280, 720, "720p")),
        ((1920, 1080), False, (848, 480, "480p")),
        ((720, 1280), True, (720, 1280, "720p")),
        ((640, 360), True, (848, 480, "480p")),
        ((720, 720), True, (960, 960, "720p")),
        ((1080, 1080), True, (960, 960, "720p")),
    ],
)
def test_plan_maps_the_output_size_to_a_native_tier(
    size: tuple[int, int], large: bool, native: tuple[int, int, str]
) -> None:
    job = _job((), width=size[0], height=size[1], duration=5)
    plan = plan_video(job, {}, large_model=large)
    assert (plan.width, plan.height, plan.tier) == native
    # the official VACE recipe: 50 steps, guidance 5, flow shift 16 at 480p and 720p
    assert plan.num_frames == 81 and plan.steps == 50 and plan.guidance == 5.0
    assert plan.flow_shift == 16.0 and plan.segments == (81,)


def test_plan_frames_follow_the_duration_at_16_fps_continued_past_81() -> None:
    """Every duration gets its own 16 fps frames (no slow motion); past VACE's trained 81 frames the
    clip is continued in segments that take over the last 17 frames of the clip so far."""
    assert frame_count_for(4) == 65 and frame_count_for(5) == 81 and frame_count_for(8) == 129
    eight = plan_video(_job((), duration=8), {})
    assert (eight.num_frames, eight.segments, eight.total_steps) == (129, (81, 65), 100)
    assert plan_video(_job((), duration=10), {}).segments == (81, 81, 33)  # 81 + 64 + 16 = 161 frames
    assert plan_video(_job((), duration=8), {"max_frames": 129}).segments == (129,)
    assert segment_lengths(17, 9, 5) == (9, 9, 9)  # 9 + 4 new + 4 new = 17
    assert segment_lengths(17, 13, 5) == (13, 9)  # 13 + 4 new
    plan = plan_video(_job((), duration=8), {"max_frames": 200, "num_frames": 18, "width": 500, "height": 90})
    assert plan.num_frames == 17  # overrides are snapped: frames to 4k + 1, sides to multiples of 16
    assert (plan.width, plan.height) == (496, 96)


def test_plan_movement_amplitude_maps_to_prompt_and_negative_prompt() -> None:
    auto = plan_video(_job((), movement_amplitude="auto"), {})
    assert auto.prompt == "two friends walk by the lake"
    assert auto.negative_prompt == negative_prompt_for("auto")
    for amplitude, sentence in AMPLITUDE_PROMPTS.items():
        plan = plan_video(_job((), movement_amplitude=amplitude), {})
        assert plan.prompt == f"{sentence} two friends walk by the lake"
    assert "fast motion" in plan_video(_job((), movement_amplitude="small"), {}).negative_prompt
    assert "slow motion" in plan_video(_job((), movement_amplitude="large"), {}).negative_prompt
    # viduq2 accepts and ignores it, as the contract says
    ignored = plan_video(_job((), model="viduq2", movement_amplitude="large"), {})
    assert ignored.prompt == "two friends walk by the lake"


def test_plan_reference_slots_are_capped_by_option_and_latent_frames() -> None:
    assert plan_video(_job(()), {}).reference_slots == 3  # VACE's guide: at most three
    assert plan_video(_job((), duration=5), {"max_references": 6}).reference_slots == 6
    assert plan_video(_job(()), {"max_references": 6}).reference_slots == 5  # 17 frames: 5 latent
    assert plan_video(_job(()), {"num_frames": 9}).reference_slots == 3  # 3 latent frames


@pytest.mark.slow
def test_unloaded_or_missing_weights(tmp_path: Path) -> None:
    backend = WanVaceBackend(str(tmp_path / "none"))
    with pytest.raises(BackendError, match="not loaded"):
        backend.plan(_job(()))
    pytest.importorskip("diffusers")
    with pytest.raises(BackendUnavailable, match="does not exist"):
        backend.load()


# ---------------------------------------------------------------- the tiny model


@pytest.fixture
def wan(wan_backend: WanVaceBackend) -> Iterator[WanVaceBackend]:
    """The session's loaded backend; a test may swap its runner, which is put back afterwards."""
    yield wan_backend
    wan_backend.runner = call_pipeline


@pytest.mark.slow
def test_wan_loads_through_its_own_loader_and_meets_the_contract(
    wan: WanVaceBackend, wan_weights: Path
) -> None:
    assert isinstance(wan, GenerationBackend)
    assert wan.supports(TaskKind.VIDEO) and not wan.supports(TaskKind.IMAGE)
    pipe = wan.pipeline
    assert type(pipe).__name__ == "WanVACEPipeline"
    assert str(pipe.vae.dtype) == "torch.float32"
    with pytest.raises(BackendUnavailable, match="holds a"):
        from refgen.backends.flux2_klein import Flux2KleinBackend

        Flux2KleinBackend(str(wan_weights)).load()


@pytest.mark.slow
@pytest.mark.parametrize("count", [1, 3, 7])
def test_wan_generates_the_job_size_and_frame_count(
    wan: WanVaceBackend, reference_set: Callable[[int], tuple[Path, ...]], count: int
) -> None:
    seen: list[dict[str, Any]] = []
    reports: list[tuple[int, int]] = []

    def spy(pipe: Any, kwargs: dict[str, Any]) -> Any:
        seen.append(kwargs)
        return pipe(**kwargs)

    wan.runner = spy
    output = wan.generate(
        _job(reference_set(count), bgm=count == 3), lambda s, t: reports.append((s, t)), Cancel()
    )
    frames = _frames(output)
    assert output.frame_count == 24 and output.fps == 24
    assert frames.shape == (24, 24, 48, 3) and frames.dtype == np.uint8
    assert frames.std() > 0  # random weights still make pixels, not a blank
    [kwargs] = seen
    assert (kwargs["height"], kwargs["width"], kwargs["num_frames"]) == (16, 32, 9)
    refs = kwargs["reference_images"]
    assert len(refs) == min(count, 3)  # 9 frames = 3 latent frames: 7 references collaged into 3
    assert reports[0] == (0, 3) and reports[-1] == (3, 3) and (2, 3) in reports
    if count == 3:
        assert output.audio is not None and output.audio.shape == (2, 48_000)
    else:
        assert output.audio is None


@pytest.mark.slow
def test_wan_same_seed_same_frames(wan: WanVaceBackend, references: tuple[Path, ...]) -> None:
    first = _frames(wan.generate(_job(references[:1]), lambda s, t: None, Cancel()))
    again = _frames(wan.generate(_job(references[:1]), lambda s, t: None, Cancel()))
    np.testing.assert_array_equal(first, again)


@pytest.mark.slow
def test_wan_cancel_mid_run_interrupts_and_discards(
    wan: WanVaceBackend, references: tuple[Path, ...]
) -> None:
    steps: list[int] = []
    decodes: list[int] = []
    wan.runner = counting_steps(steps, decodes=decodes)
    with pytest.raises(GenerationCancelled):
        wan.generate(_job(references[:1]), lambda s, t: None, Cancel(after=1))
    assert steps == [0]  # cancelled after the first step: the other three were skipped
    assert decodes == []  # and the clip was not decoded
    wan.generate(_job(references[:1]), lambda s, t: None, Cancel())
    assert decodes == [1] and steps == [0, 0, 1, 2, 3]  # the next job runs in full


@pytest.mark.slow
def test_wan_out_of_memory_fails_the_task_and_the_backend_keeps_serving(
    wan: WanVaceBackend, references: tuple[Path, ...]
) -> None:
    import torch

    calls = 0

    def oom_once(pipe: Any, kwargs: dict[str, Any]) -> Any:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 40.00 GiB")
        return pipe(**kwargs)

    wan.runner = oom_once
    with pytest.raises(OutOfMemory, match=r"40\.00 GiB") as info:
        wan.generate(_job(references[:1]), lambda s, t: None, Cancel())
    assert info.value.reason == "OutOfMemory"
    frames = _frames(wan.generate(_job(references[:1]), lambda s, t: None, Cancel()))
    assert frames.shape == (24, 24, 48, 3)


@pytest.mark.slow
def test_wan_refuses_image_jobs(wan: WanVaceBackend) -> None:
    job = GenerationJob("i", TaskKind.IMAGE, "viduq1", "p", (), 32, 32, 1)
    with pytest.raises(BackendError, match="videos only"):
        wan.generate(job, lambda s, t: None, Cancel())


def test_tiny_options_are_valid() -> None:
    WanVaceBackend("/w", WAN_TINY_OPTIONS)


@pytest.mark.slow
def test_wan_speed_options_that_work_on_the_cpu(wan_weights: Path, references: tuple[Path, ...]) -> None:
    options = {
        **WAN_TINY_OPTIONS,
        "cache": 0.05,
        "attention": "native",
        "vae_tiling": True,
        "retime": "nearest",
    }
    backend = WanVaceBackend(str(wan_weights), options)
    backend.load()
    try:
        assert backend.pipeline.vae.use_tiling
        frames = _frames(backend.generate(_job(references[:2]), lambda s, t: None, Cancel()))
        assert frames.shape == (24, 24, 48, 3)
    finally:
        backend.close()


@pytest.mark.slow
def test_wan_load_failures_are_backend_unavailable(wan_weights: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "model_index.json").write_text((wan_weights / "model_index.json").read_text())
    with pytest.raises(BackendUnavailable, match="cannot load"):
        WanVaceBackend(str(broken)).load()
    with pytest.raises(BackendUnavailable, match="needs a CUDA device"):
        WanVaceBackend(str(wan_weights), {"device": "cpu", "offload": "model"}).load()
    with pytest.raises(BackendUnavailable, match="fp8 needs a CUDA device"):
        WanVaceBackend(str(wan_weights), {"device": "cpu", "fp8": True}).load()
