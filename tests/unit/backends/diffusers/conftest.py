"""Tiny diffusers pipelines saved once per session, and backends loaded from them by their own loaders.

Everything here needs the ``gpu`` extra (torch, diffusers, transformers); without it these tests skip.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from refgen.domain import TaskKind
from refgen.generation import GenerationJob
from refgen.testing.tiny_diffusers import (
    FLUX_TINY_OPTIONS,
    WAN_TINY_OPTIONS,
    save_tiny_flux2_klein,
    save_tiny_wan_vace,
)

SUBJECTS = (
    (220, 30, 30),
    (30, 60, 220),
    (40, 190, 60),
    (230, 200, 40),
    (150, 60, 170),
    (40, 170, 170),
    (0, 0, 0),
)


@pytest.fixture(scope="session")
def wan_weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("diffusers")
    return save_tiny_wan_vace(tmp_path_factory.mktemp("weights") / "tiny-wan-vace")


@pytest.fixture(scope="session")
def flux_weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("diffusers")
    return save_tiny_flux2_klein(tmp_path_factory.mktemp("weights") / "tiny-flux2-klein")


@pytest.fixture(scope="session")
def wan_backend(wan_weights: Path) -> Iterator[object]:
    from refgen.backends.wan_vace import WanVaceBackend

    backend = WanVaceBackend(str(wan_weights), WAN_TINY_OPTIONS)
    backend.load()
    yield backend
    backend.close()


@pytest.fixture(scope="session")
def flux_backend(flux_weights: Path) -> Iterator[object]:
    from refgen.backends.flux2_klein import Flux2KleinBackend

    backend = Flux2KleinBackend(str(flux_weights), FLUX_TINY_OPTIONS)
    backend.load()
    yield backend
    backend.close()


@pytest.fixture
def reference_set(tmp_path: Path, make_reference: Callable[..., Path]) -> Callable[[int], tuple[Path, ...]]:
    """``reference_set(n)``: n distinct subject PNGs (the third on transparency)."""

    def build(n: int) -> tuple[Path, ...]:
        return tuple(
            make_reference(
                tmp_path / f"ref{i}.png", SUBJECTS[i % len(SUBJECTS)], alpha=i == 2, size=(160 + 16 * i, 200)
            )
            for i in range(n)
        )

    return build


@pytest.fixture
def image_job() -> Callable[..., GenerationJob]:
    def build(
        references: tuple[Path, ...] = (),
        *,
        width: int = 96,
        height: int = 64,
        seed: int = 3,
        prompt: str = "a red cat in a park",
        model: str = "viduq2",
    ) -> GenerationJob:
        return GenerationJob(
            task_id="img",
            kind=TaskKind.IMAGE,
            model=model,
            prompt=prompt,
            references=references,
            width=width,
            height=height,
            seed=seed,
        )

    return build
