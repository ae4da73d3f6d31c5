"""Block caches and compilation on the tiny pipelines: a first-block cache gives the uncached VACE
output when nothing changed between calls, and compile + cache runs through dynamo (Wan and klein)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from refgen.backends.diffusers_options import OptionError
from refgen.backends.flux2_klein import Flux2KleinBackend
from refgen.backends.wan_vace import WanVaceBackend
from refgen.domain import TaskKind
from refgen.generation import GenerationJob
from refgen.testing.tiny_diffusers import FLUX_TINY_OPTIONS, WAN_TINY_OPTIONS

pytestmark = pytest.mark.slow


class NoCancel:
    def is_cancelled(self) -> bool:
        return False


def _inputs(torch: Any) -> dict[str, Any]:
    generator = torch.Generator().manual_seed(5)
    return {
        "hidden_states": torch.randn(1, 16, 3, 8, 8, generator=generator),
        "timestep": torch.tensor([500]),
        "encoder_hidden_states": torch.randn(1, 16, 32, generator=generator),
        "control_hidden_states": torch.randn(1, 96, 3, 8, 8, generator=generator),
        "control_hidden_states_scale": torch.tensor([1.0, 0.5]),
        "return_dict": False,
    }


def _transformer(wan_weights: Path, options: dict[str, Any]) -> tuple[Any, Any]:
    backend = WanVaceBackend(str(wan_weights), {**WAN_TINY_OPTIONS, **options})
    backend.load()
    import torch

    return backend, torch


def test_first_block_cache_with_vace_gives_the_uncached_output(wan_weights: Path) -> None:
    """The second of two calls with the same inputs is served from the cache (the head block's
    residual did not change): it must equal the uncached output. Before the hints were folded into
    the blocks they were counted twice there (max difference 0.75 on this model)."""
    plain, torch = _transformer(wan_weights, {})
    cached, _ = _transformer(wan_weights, {"cache": 0.05})
    inputs = _inputs(torch)
    try:
        with torch.no_grad():
            expected = plain.pipeline.transformer(**inputs)[0]
            unhinted = plain.pipeline.transformer(
                **{**inputs, "control_hidden_states_scale": torch.zeros(2)}
            )[0]
            transformer = cached.pipeline.transformer
            with transformer.cache_context("cond"):
                first = transformer(**inputs)[0]
                second = transformer(**inputs)[0]
        hint_effect = expected - unhinted
        assert float(hint_effect.abs().max()) > 0.1  # the hints matter on this model
        torch.testing.assert_close(first, expected, rtol=0, atol=1e-5)
        torch.testing.assert_close(second, expected, rtol=0, atol=1e-5)
    finally:
        plain.close()
        cached.close()


def test_folded_hints_keep_the_uncached_arithmetic(wan_weights: Path) -> None:
    """With a cache that never skips (threshold 0), every step computes every block: the whole
    pipeline's output is the plain one, the conditioning scale included."""
    plain = WanVaceBackend(str(wan_weights), {**WAN_TINY_OPTIONS, "conditioning_scale": 0.7})
    folded = WanVaceBackend(str(wan_weights), {**WAN_TINY_OPTIONS, "conditioning_scale": 0.7, "cache": 0.0})
    job = GenerationJob("c", TaskKind.VIDEO, "viduq1", "a cat walks", (), 48, 24, seed=4, duration=1)
    plain.load()
    folded.load()
    try:
        a = np.stack(list(plain.generate(job, lambda s, t: None, NoCancel()).frames))
        b = np.stack(list(folded.generate(job, lambda s, t: None, NoCancel()).frames))
        assert np.abs(a.astype(int) - b.astype(int)).max() <= 1
    finally:
        plain.close()
        folded.close()


def test_compile_blocks_with_first_block_cache_runs_the_tiny_wan(
    wan_weights: Path, references: tuple[Path, ...]
) -> None:
    """Dynamo traces each block's own forward with fullgraph=True under the cache hooks (the eager
    backend keeps the test quick: the failure was in tracing, not in code generation)."""
    backend = WanVaceBackend(
        str(wan_weights), {**WAN_TINY_OPTIONS, "cache": 0.05, "compile": "blocks", "compile_backend": "eager"}
    )
    backend.load()
    try:
        job = GenerationJob("c", TaskKind.VIDEO, "viduq1", "a cat walks", references[:1], 48, 24, 1, 1)
        frames = np.stack(list(backend.generate(job, lambda s, t: None, NoCancel()).frames))
        assert frames.shape == (24, 24, 48, 3)
    finally:
        backend.close()


@pytest.mark.parametrize("cache", [{"type": "taylorseer"}, None])
def test_compile_blocks_with_taylorseer_cache_runs_the_tiny_klein(
    flux_weights: Path, image_job: Callable[..., GenerationJob], cache: dict[str, Any] | None
) -> None:
    options: dict[str, Any] = {**FLUX_TINY_OPTIONS, "compile": "blocks", "compile_backend": "eager"}
    if cache:
        options["cache"] = cache
    backend = Flux2KleinBackend(str(flux_weights), options)
    backend.load()
    try:
        image = backend.generate(image_job(), lambda s, t: None, NoCancel()).image
        assert image.shape == (64, 96, 3)
    finally:
        backend.close()


def test_whole_model_compile_with_a_cache_is_refused_at_start_up() -> None:
    with pytest.raises(OptionError, match="use 'compile': 'blocks'"):
        WanVaceBackend("/w", {"compile": "full", "cache": 0.05})
