"""A reference's subject cut out onto white, the way Wan VACE's user guide asks for references.

VACE was trained with "reference anything" subjects segmented onto a white canvas; a photo with its
own background brings that background into the video (the room behind a person reappears, or the
person is pasted in as a flat card). :func:`subject_on_white` masks the subject with
:func:`refgen.media.cutout.cut_out` (the picture's own alpha, else seeded GrabCut), composites it
onto white, and crops to the subject's box with a margin, so that the pipeline's own letterboxing
shows the subject large. A picture that is scenery (a landscape, a room: little foreground) is kept
whole: it is a background reference, and cutting it would leave nothing. Pure numpy, OpenCV and
Pillow: no torch.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from refgen.media.cutout import cut_out
from refgen.media.images import FULL_SIZE, DecodeSize, load_rgba

MARGIN = 0.06
"""Margin around the subject's box, as a fraction of the box's longer side."""


def subject_on_white(path: Path | str, size: DecodeSize = FULL_SIZE) -> Image.Image:
    """The picture's subject on white (an RGB image cropped to it), or the whole picture if scenery;
    decoded no larger than ``size`` asks."""
    rgba = load_rgba(Path(path), size)
    cut = cut_out(rgba)
    rgb = rgba[..., :3].astype(np.float32)
    if cut.scenery:
        alpha = rgba[..., 3:4].astype(np.float32) / 255.0  # transparency still goes white
    else:
        alpha = (cut.mask.astype(np.float32) / 255.0)[..., None]
    on_white = np.clip(rgb * alpha + 255.0 * (1.0 - alpha) + 0.5, 0, 255).astype(np.uint8)
    image = Image.fromarray(on_white, "RGB")
    if cut.scenery:
        return image
    return image.crop(_box(cut.mask))


def _box(mask: np.ndarray, threshold: int = 32) -> tuple[int, int, int, int]:
    """The subject's bounding box with a margin, clamped to the picture."""
    h, w = mask.shape
    rows, cols = np.nonzero(mask > threshold)
    if rows.size == 0:
        return 0, 0, w, h
    top, bottom, left, right = int(rows.min()), int(rows.max()) + 1, int(cols.min()), int(cols.max()) + 1
    pad = round(MARGIN * max(bottom - top, right - left))
    return max(0, left - pad), max(0, top - pad), min(w, right + pad), min(h, bottom + pad)
