"""References made ready for a model's reference inputs: each flattened onto white, scaled to a
pixel budget, and, when there are more references than the model takes, the later ones tiled
together onto collages so that none is dropped. Pure Pillow and numpy: no torch.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from refgen.media.images import load_rgba


def load_reference(path: Path | str) -> Image.Image:
    """A reference as an RGB PIL image, any transparency composited onto white."""
    rgba = load_rgba(Path(path)).astype(np.float32)
    alpha = rgba[..., 3:4] / 255.0
    rgb = rgba[..., :3] * alpha + 255.0 * (1.0 - alpha)
    return Image.fromarray(np.asarray(np.clip(rgb + 0.5, 0, 255), dtype=np.uint8), "RGB")


def group_sizes(count: int, slots: int) -> list[int]:
    """Split ``count`` references, in order, into at most ``slots`` groups: as even as possible,
    the larger groups last, so the first references (usually the main subjects) stay alone."""
    if count <= slots:
        return [1] * count
    base, extra = divmod(count, slots)
    return [base] * (slots - extra) + [base + 1] * extra


def collage(images: Sequence[Image.Image], width: int, height: int, gap: float = 0.04) -> Image.Image:
    """Tile ``images`` on a white ``width`` × ``height`` canvas in the grid that shows them largest,
    each scaled to fit its cell (aspect kept), in reading order."""
    if len(images) == 1:
        return images[0]
    best: tuple[float, int, int] | None = None
    for cols in range(1, len(images) + 1):
        rows = math.ceil(len(images) / cols)
        cw, ch = width / cols, height / rows
        scale = min(min(cw / im.width, ch / im.height) for im in images)
        if best is None or scale > best[0]:
            best = (scale, cols, rows)
    assert best is not None
    _, cols, rows = best
    canvas = Image.new("RGB", (width, height), (255, 255, 255))
    cw, ch = width / cols, height / rows
    pad = gap * min(cw, ch) / 2
    for k, image in enumerate(images):
        r, c = divmod(k, cols)
        box_w, box_h = max(1.0, cw - 2 * pad), max(1.0, ch - 2 * pad)
        s = min(box_w / image.width, box_h / image.height)
        size = (max(1, round(image.width * s)), max(1, round(image.height * s)))
        tile = image.resize(size, Image.Resampling.LANCZOS)
        x = round(c * cw + (cw - size[0]) / 2)
        y = round(r * ch + (ch - size[1]) / 2)
        canvas.paste(tile, (x, y))
    return canvas


def fit_pixels(image: Image.Image, max_pixels: int, min_side: int = 1) -> Image.Image:
    """``image`` scaled down (aspect kept) to at most ``max_pixels`` pixels, but with both sides at
    least ``min_side`` (scaled up if need be)."""
    w, h = image.size
    scale = min(1.0, math.sqrt(max_pixels / (w * h)))
    scale = max(scale, min_side / min(w, h))
    if abs(scale - 1.0) < 1e-9:
        return image
    size = (max(min_side, round(w * scale)), max(min_side, round(h * scale)))
    return image.resize(size, Image.Resampling.LANCZOS)


def prepare_references(
    paths: Sequence[Path],
    slots: int,
    canvas: tuple[int, int],
    loader: Callable[[Path], Image.Image] = load_reference,
) -> tuple[list[Image.Image], list[int]]:
    """Load the references (with ``loader``) and fit them into at most ``slots`` images: with more
    references than slots, the later ones are tiled together (:func:`group_sizes`, :func:`collage`)
    on canvases of size ``canvas``. Never drops one. Returns the images and the group sizes."""
    images = [loader(p) for p in paths]
    sizes = group_sizes(len(images), max(1, slots))
    out: list[Image.Image] = []
    start = 0
    for size in sizes:
        out.append(collage(images[start : start + size], *canvas))
        start += size
    return out, sizes
