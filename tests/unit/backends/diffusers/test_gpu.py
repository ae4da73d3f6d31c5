"""CUDA-only paths of the diffusers backends, on the tiny pipelines: bf16 placement, the speed options
(compile, first-block cache, FP8), offload, and a real CUDA out-of-memory. Skipped without CUDA."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from refgen.backends.flux2_klein import Flux2KleinBackend
from refgen.backends.wan_vace import WanVaceBackend
from refgen.domain import TaskKind
from refgen.errors import OutOfMemory
from refgen.generation import GenerationJob
from refgen.testing.tiny_diffusers import FLUX_TINY_OPTIONS, WAN_TINY_OPTIONS

pytestmark = [pytest.mark.gpu, pytest.mark.slow]


class NoCancel:
    def is_cancelled(self) -> bool:
        return False


@pytest.fixture(scope="session")
def cuda() -> Any:
    """torch, when CUDA is available (session-scoped so the skip comes before the weights are built)."""
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("needs CUDA")
    return torch


def _video_job(references: tuple[Path, ...]) -> GenerationJob:
    return GenerationJob("g", TaskKind.VIDEO, "viduq1", "a cat walks", references, 64, 32, seed=1, duration=1)


@pytest.mark.parametrize(
    "extra",
    [
        {},
        {"compile": "blocks"},
        {"cache": 0.05},
        {"offload": "model"},
        {"vae_tiling": True, "attention": "native"},
    ],
)
def test_gpu_wan_bf16_with_speed_options(
    cuda: Any, wan_weights: Path, references: tuple[Path, ...], extra: dict[str, Any]
) -> None:
    backend = WanVaceBackend(
        str(wan_weights), {**WAN_TINY_OPTIONS, "device": "cuda", "dtype": "bf16", **extra}
    )
    backend.load()
    try:
        pipe = backend.pipeline
        assert pipe.transformer.dtype == cuda.bfloat16 and pipe.vae.dtype == cuda.float32
        frames = np.stack(
            list(backend.generate(_video_job(references), lambda s, t: None, NoCancel()).frames)
        )
        assert frames.shape == (24, 32, 64, 3)
    finally:
        backend.close()


@pytest.mark.parametrize("extra", [{}, {"compile": "blocks"}, {"cache": 0.05}, {"fp8": True}])
def test_gpu_flux_bf16_with_speed_options(
    cuda: Any, flux_weights: Path, image_job: Callable[..., GenerationJob], extra: dict[str, Any]
) -> None:
    if extra.get("fp8"):
        pytest.importorskip("torchao")
        if cuda.cuda.get_device_capability() < (8, 9):
            pytest.skip("FP8 needs compute capability 8.9+")
    backend = Flux2KleinBackend(str(flux_weights), {**FLUX_TINY_OPTIONS, "device": "cuda", **extra})
    backend.load()
    try:
        if not extra.get("fp8"):
            assert backend.pipeline.transformer.dtype == cuda.bfloat16
        image = backend.generate(image_job(), lambda s, t: None, NoCancel()).image
        assert image.shape == (64, 96, 3)
    finally:
        backend.close()


def test_gpu_real_out_of_memory_is_translated_and_memory_freed(
    cuda: Any, flux_weights: Path, image_job: Callable[..., GenerationJob]
) -> None:
    backend = Flux2KleinBackend(str(flux_weights), {**FLUX_TINY_OPTIONS, "device": "cuda"})
    backend.load()
    hog: list[Any] = []

    def allocate_everything(pipe: Any, kwargs: dict[str, Any]) -> Any:
        free, _ = cuda.cuda.mem_get_info()
        hog.append(cuda.empty(int(free * 4), dtype=cuda.uint8, device="cuda"))  # more than there is
        return pipe(**kwargs)

    backend.runner = allocate_everything
    try:
        before = cuda.cuda.memory_allocated()
        with pytest.raises(OutOfMemory):
            backend.generate(image_job(), lambda s, t: None, NoCancel())
        assert cuda.cuda.memory_allocated() <= before + 1024 * 1024
        from refgen.backends.diffusers_base import call_pipeline

        backend.runner = call_pipeline
        assert backend.generate(image_job(), lambda s, t: None, NoCancel()).image.shape == (64, 96, 3)
    finally:
        backend.close()
