"""The ``anime`` look for drafted scenes: flat posterized colours, cel shading, bold ink outlines.

Applied once to each plane of a draft (:class:`~refgen.media.backdrop.DraftLayer`) before it is
animated, so it costs nothing per frame:

- colours are pushed a little more saturated and posterized to a few flat levels per channel, so a
  smooth sky becomes bands of flat colour (cel shading);
- a plane's soft edge is made hard (coverage thresholded), and an opaque plane's outline is drawn
  around it as a dark ink line a few pixels wide, in a darkened shade of its own colour.
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

from refgen.media.backdrop import DraftLayer

LEVELS = 6  # flat levels per colour channel
SATURATION = 1.35  # colours are pushed this much away from their grey
INK_SHADE = 0.22  # outline colour: the plane's colour times this
INK_WIDTH = 0.006  # outline width, of the plane's larger side (at least 1 px)

Pixels = npt.NDArray[np.float32]


def anime_layer(layer: DraftLayer) -> DraftLayer:
    """``layer`` in the anime look: posterized, hard-edged and, when it is solid, outlined in ink."""
    color = posterize(layer.color)
    if layer.alpha is None:
        return DraftLayer(color, None, layer.depth)
    peak = float(layer.alpha.max()) if layer.alpha.size else 0.0
    solid = layer.alpha > 0.5 * max(peak, 1e-6)
    alpha = solid.astype(np.float32) * peak
    if peak < 0.9:  # a glow: a flat, translucent shape without ink
        return DraftLayer(color, alpha, layer.depth)
    h, w = alpha.shape
    r = max(1, round(INK_WIDTH * max(h, w)))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
    grown = cv2.dilate(solid.astype(np.uint8), kernel) > 0
    ring = grown & ~solid
    inked = np.where(ring[..., None], color * INK_SHADE, color).astype(np.float32)
    return DraftLayer(inked, np.where(ring, 1.0, alpha).astype(np.float32), layer.depth)


def posterize(color: Pixels) -> Pixels:
    """Colours made more saturated and rounded to ``LEVELS`` flat levels per channel."""
    grey = color.mean(axis=-1, keepdims=True)
    vivid = np.clip(grey + (color - grey) * SATURATION, 0, 255)
    step = 255 / (LEVELS - 1)
    return np.asarray(np.round(vivid / step) * step, dtype=np.float32)
