"""The wan-vace backend across the video family, on the tiny pipeline: what each endpoint gives VACE
(references, known frames), clips continued in segments, references cut out onto white, the fast
tier with a few-step LoRA, and Wan2.2's two experts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from refgen.backends.diffusers_options import OptionError
from refgen.backends.wan_vace import WanVaceBackend
from refgen.domain import TaskKind
from refgen.generation import GenerationJob, SubjectReferences
from refgen.testing.tiny_diffusers import WAN_TINY_OPTIONS, save_tiny_wan_lora, save_tiny_wan_vace

pytestmark = pytest.mark.slow


class NoCancel:
    def is_cancelled(self) -> bool:
        return False


def _job(kind: TaskKind, references: tuple[Path, ...] = (), **kw: Any) -> GenerationJob:
    fields: dict[str, Any] = {"width": 48, "height": 24, "seed": 2, "duration": 1, **kw}
    return GenerationJob("f", kind, "viduq1", "a cat walks in the park", references, **fields)


def _spy(backend: WanVaceBackend) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []

    def run(pipe: Any, kwargs: dict[str, Any]) -> Any:
        seen.append(kwargs)
        return pipe(**kwargs)

    backend.runner = run
    return seen


def _generate(backend: WanVaceBackend, job: GenerationJob) -> np.ndarray:
    return np.stack(list(backend.generate(job, lambda s, t: None, NoCancel()).frames))


@pytest.fixture
def wan(wan_backend: WanVaceBackend) -> Any:
    from refgen.backends.diffusers_base import call_pipeline

    yield wan_backend
    wan_backend.runner = call_pipeline


def _masks(kwargs: dict[str, Any]) -> list[int]:
    return [int(np.asarray(m).max()) for m in kwargs["mask"]]


def test_wan_img2video_conditions_on_the_first_frame(
    wan: WanVaceBackend, references: tuple[Path, ...]
) -> None:
    seen = _spy(wan)
    frames = _generate(wan, _job(TaskKind.IMAGE_TO_VIDEO, references[:1]))
    assert frames.shape == (24, 24, 48, 3)
    [kwargs] = seen
    assert kwargs["reference_images"] is None and len(kwargs["video"]) == 9
    assert _masks(kwargs) == [0] + [255] * 8  # frame 0 known, the rest generated
    first = np.asarray(kwargs["video"][0])
    assert first.shape == (16, 32, 3) and tuple(first[8, 16]) == (220, 30, 30)  # the red subject's middle
    assert {tuple(np.asarray(f)[0, 0]) for f in kwargs["video"][1:]} == {(128, 128, 128)}


def test_wan_start_end2video_conditions_on_the_first_and_last_frames(
    wan: WanVaceBackend, references: tuple[Path, ...]
) -> None:
    seen = _spy(wan)
    _generate(wan, _job(TaskKind.START_END_TO_VIDEO, references[:2]))
    [kwargs] = seen
    assert _masks(kwargs) == [0] + [255] * 7 + [0]
    assert tuple(np.asarray(kwargs["video"][0])[8, 16]) == (220, 30, 30)
    red, _, blue = (int(v) for v in np.asarray(kwargs["video"][-1])[8, 16])
    assert blue > 100 > red  # the blue subject ends the clip


def test_wan_text2video_has_no_condition(wan: WanVaceBackend) -> None:
    seen = _spy(wan)
    assert _generate(wan, _job(TaskKind.TEXT_TO_VIDEO)).shape == (24, 24, 48, 3)
    [kwargs] = seen
    assert kwargs["reference_images"] is None and "video" not in kwargs and "mask" not in kwargs


def test_wan_reference2video_subjects_are_one_image_each_cut_out_onto_white(
    wan: WanVaceBackend, references: tuple[Path, ...]
) -> None:
    seen = _spy(wan)
    subjects = (
        SubjectReferences("a", references[:2]),
        SubjectReferences("b", references[2:3]),
    )
    _generate(wan, _job(TaskKind.VIDEO, references, subjects=subjects))
    [kwargs] = seen
    refs = kwargs["reference_images"]
    assert len(refs) == 2  # by subject, not by picture
    single = np.asarray(refs[1])  # the green subject alone, cropped to it
    assert tuple(single[0, 0]) == (255, 255, 255) and single.shape[0] < 320


def test_wan_cutout_puts_photo_subjects_on_white_and_can_be_turned_off(
    wan_weights: Path, references: tuple[Path, ...]
) -> None:
    corners = {}
    for cutout in (True, False):
        backend = WanVaceBackend(str(wan_weights), {**WAN_TINY_OPTIONS, "cutout": cutout})
        backend.load()
        try:
            seen = _spy(backend)
            _generate(backend, _job(TaskKind.VIDEO, references[:1]))
            corners[cutout] = tuple(np.asarray(seen[0]["reference_images"][0])[0, 0])
        finally:
            backend.close()
    assert corners == {True: (255, 255, 255), False: (238, 236, 230)}  # the photo's light background


def test_wan_long_clip_is_continued_in_segments_that_take_over_the_last_frames(
    wan_weights: Path, references: tuple[Path, ...]
) -> None:
    backend = WanVaceBackend(
        str(wan_weights), {**WAN_TINY_OPTIONS, "num_frames": 17, "max_frames": 13, "overlap": 5}
    )
    backend.load()
    reports: list[tuple[int, int]] = []
    try:
        seen = _spy(backend)
        outputs: list[np.ndarray] = []
        runner = backend.runner

        def keep(pipe: Any, kwargs: dict[str, Any]) -> Any:
            result = runner(pipe, kwargs)
            outputs.append(np.asarray(result.frames[0]))
            return result

        backend.runner = keep
        output = backend.generate(
            _job(TaskKind.VIDEO, references[:1], duration=2), lambda s, t: reports.append((s, t)), NoCancel()
        )
        frames = np.stack(list(output.frames))
        assert frames.shape == (48, 24, 48, 3)
        assert [k["num_frames"] for k in seen] == [13, 9]  # 13 + 4 new = 17 frames
        second = seen[1]
        assert _masks(second) == [0] * 5 + [255] * 4
        first_clip = (np.clip(outputs[0], 0, 1) * 255 + 0.5).astype(np.uint8)
        for i in range(5):  # the last 5 frames of the first run are the known frames of the second
            np.testing.assert_array_equal(np.asarray(second["video"][i]), first_clip[8 + i])
        assert second["reference_images"] is not None  # the subjects stay in every segment
        assert reports[-1] == (5, 5) and (2, 5) in reports  # 2 steps × 2 runs + the decode
    finally:
        backend.close()


# ---------------------------------------------------------------- fast tier and Wan2.2


def test_wan_fast_tier_needs_a_lora() -> None:
    with pytest.raises(OptionError, match="needs 'lora'"):
        WanVaceBackend("/w", {"speed": "fast"})


def _lora_modules(model: Any) -> list[str]:
    return [name for name, _ in model.named_modules() if "lora" in name]


def test_wan_fast_tier_fuses_the_distilled_lora_and_runs_few_steps(
    wan_weights: Path, wan_backend: WanVaceBackend, tmp_path: Path, references: tuple[Path, ...]
) -> None:
    lora = save_tiny_wan_lora(tmp_path / "distill.safetensors")
    options = {**WAN_TINY_OPTIONS, "speed": "fast", "lora": str(lora), "compile_backend": "eager"}
    del options["steps"]
    backend = WanVaceBackend(str(wan_weights), options)
    backend.load()
    try:
        assert backend.options["fp8"] is False  # no FP8 on the CPU
        plan = backend.plan(_job(TaskKind.VIDEO))
        assert (plan.steps, plan.guidance, plan.flow_shift) == (4, 1.0, 5.0)
        transformer = backend.pipeline.transformer
        assert _lora_modules(transformer) == []  # fused, then the PEFT layers unloaded
        plain = wan_backend.pipeline.transformer
        assert not np.allclose(
            transformer.blocks[0].attn1.to_q.weight.detach().numpy(),
            plain.blocks[0].attn1.to_q.weight.detach().numpy(),
        )
        seen = _spy(backend)
        assert _generate(backend, _job(TaskKind.VIDEO, references[:1])).shape == (24, 24, 48, 3)
        assert seen[0]["num_inference_steps"] == 4 and seen[0]["guidance_scale"] == 1.0
    finally:
        backend.close()


def test_wan22_two_experts_get_the_lora_guidance_2_and_their_own_shift(
    tmp_path: Path, references: tuple[Path, ...]
) -> None:
    import torch

    folder = save_tiny_wan_vace(tmp_path / "wan22", two_experts=True)
    plain = WanVaceBackend(str(folder), WAN_TINY_OPTIONS)
    plain.load()
    lora = save_tiny_wan_lora(tmp_path / "l.safetensors")
    backend = WanVaceBackend(str(folder), {**WAN_TINY_OPTIONS, "lora": str(lora), "guidance_2": 2.5})
    backend.load()
    try:
        pipe = backend.pipeline
        for name in ("transformer", "transformer_2"):
            fused, base = getattr(pipe, name), getattr(plain.pipeline, name)
            assert _lora_modules(fused) == []
            assert not torch.equal(fused.blocks[1].attn1.to_v.weight, base.blocks[1].attn1.to_v.weight)
        plan = backend.plan(_job(TaskKind.VIDEO))
        assert plan.flow_shift == 3.0 and plan.guidance == 4.0  # the folder's shift, Wan2.2's guidance
        seen = _spy(backend)
        _generate(backend, _job(TaskKind.VIDEO, references[:1]))
        assert seen[0]["guidance_scale_2"] == 2.5
    finally:
        backend.close()
        plain.close()
