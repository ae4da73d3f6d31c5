"""The flux2-klein backend on a tiny random-weight Flux2KleinPipeline, loaded by its own loader (CPU)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from refgen.backends.base import GenerationBackend
from refgen.backends.diffusers_base import call_pipeline
from refgen.backends.diffusers_options import OptionError
from refgen.backends.flux2_klein import Flux2KleinBackend, plan_image
from refgen.contract.sizes import output_size
from refgen.domain import TaskKind
from refgen.errors import BackendError, GenerationCancelled, OutOfMemory
from refgen.generation import GenerationJob
from refgen.testing.tiny_diffusers import FLUX_TINY_OPTIONS, save_tiny_flux2_klein
from tests.unit.backends.diffusers.runners import counting_steps


class Cancel:
    def __init__(self, after: int | None = None) -> None:
        self.after, self.polls = after, 0

    def is_cancelled(self) -> bool:
        self.polls += 1
        return self.after is not None and self.polls > self.after


@pytest.fixture
def flux(flux_backend: Flux2KleinBackend) -> Iterator[Flux2KleinBackend]:
    yield flux_backend
    flux_backend.runner = call_pipeline


@pytest.mark.parametrize(
    ("resolution", "ratio", "native"),
    [
        ("1080p", "16:9", (1920, 1088)),  # natively: cropped 8 rows, no upscale
        ("1080p", "9:16", (1088, 1920)),
        ("2K", "16:9", (2048, 1152)),  # the long side capped at 2048: upscaled 1.25×
        ("2K", "1:1", (1440, 1440)),
        ("4K", "16:9", (2048, 1152)),
        ("4K", "1:1", (2048, 2048)),  # ~4.2 MP, the area cap
        ("4K", "21:9", (2048, 880)),
        ("720p", "4:3", (960, 720)),
    ],
)
def test_plan_generates_natively_up_to_2048_px_and_upscales_only_the_rest(
    image_job: Callable[..., GenerationJob], resolution: str, ratio: str, native: tuple[int, int]
) -> None:
    width, height = output_size(resolution, ratio)
    plan = plan_image(image_job(width=width, height=height), {})
    assert (plan.width, plan.height) == native
    assert max(plan.width, plan.height) <= 2048 and plan.width * plan.height <= 2048 * 2048
    assert (plan.steps, plan.guidance, plan.reference_slots) == (4, 1.0, 4)
    base = plan_image(image_job(width=width, height=height), {"max_pixels": 1024 * 1024}, distilled=False)
    assert (base.steps, base.guidance) == (50, 4.0)
    wanted = min(1024 * 1024, width * height)
    assert abs(base.width * base.height - wanted) / wanted < 0.05


@pytest.mark.slow
def test_flux_generates_at_the_output_size_and_upscales_only_past_max_side(
    flux_weights: Path, image_job: Callable[..., GenerationJob]
) -> None:
    options = {k: v for k, v in FLUX_TINY_OPTIONS.items() if k not in ("height", "width")}
    backend = Flux2KleinBackend(str(flux_weights), {**options, "max_side": 48})
    backend.load()
    seen: list[tuple[int, int]] = []

    def spy(pipe: Any, kwargs: dict[str, Any]) -> Any:
        seen.append((kwargs["width"], kwargs["height"]))
        return pipe(**kwargs)

    backend.runner = spy
    try:
        small = backend.generate(image_job(width=48, height=32), lambda s, t: None, Cancel())
        large = backend.generate(image_job(width=96, height=64), lambda s, t: None, Cancel())
    finally:
        backend.close()
    assert seen == [(48, 32), (48, 32)]  # the first natively, the second capped at 48 px and upscaled
    assert small.image.shape == (32, 48, 3) and large.image.shape == (64, 96, 3)


@pytest.mark.slow
def test_flux_loads_through_its_own_loader(flux: Flux2KleinBackend) -> None:
    assert isinstance(flux, GenerationBackend)
    assert flux.supports(TaskKind.IMAGE) and not flux.supports(TaskKind.VIDEO)
    assert type(flux.pipeline).__name__ == "Flux2KleinPipeline"
    assert flux.pipeline.config.is_distilled


@pytest.mark.slow
@pytest.mark.parametrize("count", [0, 1, 3, 7])
def test_flux_generates_the_job_size_from_0_to_7_references(
    flux: Flux2KleinBackend,
    image_job: Callable[..., GenerationJob],
    reference_set: Callable[[int], tuple[Path, ...]],
    count: int,
) -> None:
    seen: list[dict[str, Any]] = []
    reports: list[tuple[int, int]] = []

    def spy(pipe: Any, kwargs: dict[str, Any]) -> Any:
        seen.append(kwargs)
        return pipe(**kwargs)

    flux.runner = spy
    output = flux.generate(image_job(reference_set(count)), lambda s, t: reports.append((s, t)), Cancel())
    assert output.image.shape == (64, 96, 3) and output.image.dtype == np.uint8
    assert output.image.std() > 0
    [kwargs] = seen
    assert (kwargs["height"], kwargs["width"], kwargs["num_inference_steps"]) == (32, 48, 2)
    images = kwargs["image"]
    assert (images is None) if count == 0 else len(images) == min(count, 4)
    assert reports[0] == (0, 3) and reports[-1] == (3, 3)


@pytest.mark.slow
def test_flux_upscales_to_4k(flux: Flux2KleinBackend, image_job: Callable[..., GenerationJob]) -> None:
    width, height = output_size("4K", "16:9")
    output = flux.generate(image_job(width=width, height=height), lambda s, t: None, Cancel())
    assert output.image.shape == (2160, 3840, 3)


@pytest.mark.slow
def test_flux_same_seed_same_image(flux: Flux2KleinBackend, image_job: Callable[..., GenerationJob]) -> None:
    first = flux.generate(image_job(seed=5), lambda s, t: None, Cancel()).image
    again = flux.generate(image_job(seed=5), lambda s, t: None, Cancel()).image
    other = flux.generate(image_job(seed=6), lambda s, t: None, Cancel()).image
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


@pytest.mark.slow
def test_flux_cancel_mid_run_interrupts_and_discards(
    flux: Flux2KleinBackend, image_job: Callable[..., GenerationJob]
) -> None:
    steps: list[int] = []
    flux.runner = counting_steps(steps)
    with pytest.raises(GenerationCancelled):
        flux.generate(image_job(), lambda s, t: None, Cancel(after=2))
    assert steps == [0, 1]


@pytest.mark.slow
def test_flux_out_of_memory_then_keeps_serving(
    flux: Flux2KleinBackend, image_job: Callable[..., GenerationJob]
) -> None:
    calls = 0

    def oom_once(pipe: Any, kwargs: dict[str, Any]) -> Any:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("CUDA error: out of memory")
        return pipe(**kwargs)

    flux.runner = oom_once
    with pytest.raises(OutOfMemory, match="out of memory"):
        flux.generate(image_job(), lambda s, t: None, Cancel())
    assert flux.generate(image_job(), lambda s, t: None, Cancel()).image.shape == (64, 96, 3)


@pytest.mark.slow
def test_flux_refuses_video_jobs(flux: Flux2KleinBackend) -> None:
    job = GenerationJob("v", TaskKind.VIDEO, "viduq2", "p", (), 32, 32, 1, duration=1)
    with pytest.raises(BackendError, match="images only"):
        flux.generate(job, lambda s, t: None, Cancel())


@pytest.mark.slow
def test_flux_base_weights_default_to_50_steps_with_guidance(
    tmp_path: Path, image_job: Callable[..., GenerationJob]
) -> None:
    folder = save_tiny_flux2_klein(tmp_path / "base", distilled=False)
    options = {k: v for k, v in FLUX_TINY_OPTIONS.items() if k != "steps"}
    backend = Flux2KleinBackend(str(folder), options)
    backend.load()
    try:
        plan = backend.plan(image_job())
        assert (plan.steps, plan.guidance) == (50, 4.0)
        backend.options["distilled"] = True
        assert (backend.plan(image_job()).steps, backend.plan(image_job()).guidance) == (4, 1.0)
    finally:
        backend.close()
    with pytest.raises(BackendError, match="not loaded"):
        backend.plan(image_job())


def test_flux_refuses_the_first_block_cache_that_diffusers_breaks_on_flux2() -> None:
    with pytest.raises(OptionError, match="taylorseer"):
        Flux2KleinBackend("/w", {"cache": 0.05})


@pytest.mark.slow
def test_flux_taylorseer_cache_runs(flux_weights: Path, image_job: Callable[..., GenerationJob]) -> None:
    cache = {"type": "taylorseer", "cache_interval": 2, "disable_cache_before_step": 1}
    backend = Flux2KleinBackend(str(flux_weights), {**FLUX_TINY_OPTIONS, "steps": 4, "cache": cache})
    backend.load()
    try:
        assert backend.generate(image_job(), lambda s, t: None, Cancel()).image.shape == (64, 96, 3)
    finally:
        backend.close()
