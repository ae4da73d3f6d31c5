"""Frames between a model's native size and rate and the output's: the native size for an
output size, scaling back to cover the output, re-timing a clip to the output's frame count.

Models generate at a native size and frame rate; :func:`native_size` picks a size with the
output's aspect ratio and about the model's area, :func:`cover_resize` scales a frame to cover the
output size (aspect kept, never stretched) and crops the centre, and :func:`retime` resamples a
clip to exactly the output's frame count (see its docstring). Pure numpy and OpenCV: no torch.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from refgen.generation import Frame

# ---------------------------------------------------------------- sizes


def round_to(value: float, multiple: int) -> int:
    return max(multiple, multiple * round(value / multiple))


def native_size(
    width: int, height: int, area: int, multiple: int, *, at_most_output: bool = False
) -> tuple[int, int]:
    """A ``(width, height)`` with the aspect ratio of ``width`` × ``height`` and about ``area`` pixels
    (or the output's own area, if smaller and ``at_most_output``), both sides a multiple of ``multiple``."""
    if at_most_output:
        area = min(area, width * height)
    ratio = width / height
    w = math.sqrt(area * ratio)
    return round_to(w, multiple), round_to(w / ratio, multiple)


# ---------------------------------------------------------------- frames


def to_uint8(pixels: npt.NDArray[Any]) -> npt.NDArray[np.uint8]:
    """Float pixels in [0, 1] (any shape) to uint8."""
    return np.asarray(np.clip(np.asarray(pixels, np.float32) * 255.0 + 0.5, 0, 255), dtype=np.uint8)


def cover_resize(frame: Frame, width: int, height: int) -> Frame:
    """Scale ``frame`` (aspect kept) until it covers ``width`` × ``height``, then crop the centre.

    Never stretches: at most a thin band is cropped when the native aspect ratio differs from the
    output's. Downscaling uses area averaging, upscaling Lanczos.
    """
    h, w = frame.shape[:2]
    if (w, h) == (width, height):
        return frame
    scale = max(width / w, height / h)
    sw, sh = max(width, math.ceil(w * scale - 1e-6)), max(height, math.ceil(h * scale - 1e-6))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LANCZOS4
    scaled = cv2.resize(frame, (sw, sh), interpolation=interp)
    x0, y0 = (sw - width) // 2, (sh - height) // 2
    return np.ascontiguousarray(scaled[y0 : y0 + height, x0 : x0 + width])


def retime_positions(source_count: int, count: int) -> npt.NDArray[np.float64]:
    """Source positions (fractional frame indices) for ``count`` output frames, first and last
    frames aligned with the source's first and last."""
    if count <= 0:
        return np.zeros(0, np.float64)
    if count == 1 or source_count <= 1:
        return np.zeros(count, np.float64)
    return np.linspace(0.0, source_count - 1, count)


RETIME_MODES = ("blend", "nearest")


def retime(frames: npt.NDArray[np.uint8], count: int, mode: str = "blend") -> Iterator[Frame]:
    """Yield exactly ``count`` frames resampled from ``frames`` (N, H, W, 3) in time.

    The clip's first and last frames are kept where they are and everything in between is spread
    evenly (16 fps → 24 fps is a factor of 1.5). ``blend`` cross-fades the two nearest source frames
    by the fractional position (smooth, slight ghosting on fast motion); ``nearest`` repeats the
    nearest source frame (sharp, with a 2:3-like cadence).
    """
    last = len(frames) - 1
    for p in retime_positions(len(frames), count):
        i = min(last, math.floor(p))
        a = p - i
        if mode == "nearest" or a < 1e-3 or i == last:
            yield frames[min(last, round(p))]
        elif a > 1 - 1e-3:
            yield frames[i + 1]
        else:
            mixed = cv2.addWeighted(frames[i], 1.0 - a, frames[i + 1], a, 0.0)
            yield np.asarray(mixed, dtype=np.uint8)
