"""A 40-megapixel reference, decoded reduced to what the frame uses, draws the frame its reduced copy does."""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np
import pytest

from refgen.backends.compositor import CompositorBackend
from refgen.domain import TaskKind
from refgen.generation import GenerationJob, ImageOutput
from refgen.media.images import MAX_PIXELS
from refgen.media.scene import decode_size

WIDTH, HEIGHT = 1920, 1080
LARGE = (7745, 5163)  # just under the contract's 40 megapixels
assert LARGE[0] * LARGE[1] <= MAX_PIXELS


class _Never:
    def is_cancelled(self) -> bool:
        return False


def _photo(size: tuple[int, int]) -> np.ndarray:
    """A photo-like BGR picture: a lit wall with soft patches and grain, a shaded subject standing on it."""
    w, h = size
    sw, sh = w // 8, h // 8
    yy, xx = np.mgrid[0:sh, 0:sw].astype(np.float32)
    small = np.dstack([150 + 40 * xx / sw, 140 + 30 * yy / sh, 120 + 20 * (1 - yy / sh)])
    for cx, cy, colour in (
        (0.12, 0.2, (90, 120, 160)),
        (0.85, 0.3, (170, 150, 90)),
        (0.8, 0.85, (110, 90, 80)),
    ):
        cv2.circle(small, (int(cx * sw), int(cy * sh)), int(0.08 * sw), colour, -1)
    small = cv2.GaussianBlur(small, (0, 0), 3.0)
    body = np.zeros((sh, sw), np.uint8)
    cv2.ellipse(body, (sw // 2, int(sh * 0.64)), (int(sw * 0.16), int(sh * 0.27)), 0, 0, 360, 255, -1)
    cv2.circle(body, (sw // 2, int(sh * 0.3)), int(sh * 0.11), 255, -1)
    shade = 0.55 + 0.45 * np.clip(1.2 - (xx / sw * 0.6 + yy / sh * 0.8), 0, 1)
    subject = np.array((40, 60, 200), np.float32) * shade[..., None]
    small = np.where(body[..., None] > 0, subject, small)
    picture = cv2.resize(np.clip(small, 0, 255).astype(np.uint8), (w, h), interpolation=cv2.INTER_CUBIC)
    grain = np.random.default_rng(0).integers(0, 7, (256, 256, 3), dtype=np.uint8)
    cv2.add(picture, np.tile(grain, (math.ceil(h / 256), math.ceil(w / 256), 1))[:h, :w], dst=picture)
    return picture


def _still(backend: CompositorBackend, reference: Path) -> np.ndarray:
    job = GenerationJob(
        task_id="large",
        kind=TaskKind.IMAGE,
        model="viduq1",
        prompt="",
        references=(reference,),
        width=WIDTH,
        height=HEIGHT,
        seed=3,
    )
    out = backend.generate(job, lambda step, total: None, _Never())
    assert isinstance(out, ImageOutput)
    return out.image


@pytest.mark.parametrize("ext", ["jpg", "png"])
def test_compositor_large_reference_draws_the_frame_of_its_reduced_copy(tmp_path: Path, ext: str) -> None:
    large = tmp_path / f"large.{ext}"
    cv2.imwrite(str(large), _photo(LARGE), [cv2.IMWRITE_JPEG_QUALITY, 92, cv2.IMWRITE_PNG_COMPRESSION, 1])
    # the reduced copy: the large file's own pixels, area-averaged to what a 1080p frame uses of them
    pixels = cv2.imread(str(large))
    scale = decode_size(WIDTH, HEIGHT).scale(*LARGE)
    reduced_size = (math.ceil(LARGE[0] * scale), math.ceil(LARGE[1] * scale))
    reduced = tmp_path / "reduced.png"
    cv2.imwrite(str(reduced), cv2.resize(pixels, reduced_size, interpolation=cv2.INTER_AREA))
    del pixels

    backend = CompositorBackend()
    from_large, from_reduced = _still(backend, large), _still(backend, reduced)

    assert from_large.shape == from_reduced.shape == (HEIGHT, WIDTH, 3)
    diff = np.abs(from_large.astype(np.int16) - from_reduced).max(axis=2)
    assert float(diff.mean()) < 1.0
    assert float(np.percentile(diff, 99)) <= 8
