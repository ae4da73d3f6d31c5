"""text2video: the prompt's drafted scene, animated by a camera over its planes with parallax.

The scene is the compositor's text-only draft (:func:`~refgen.media.backdrop.draft_layers`: palette
from the prompt's colour words, composition from its other words), painted as planes, far to near:
the sky, the sun's or moon's glow and disc, the hills, the water. A seeded camera
(:class:`~refgen.media.camera.Camera`: an eased zoom and pan and a slow drift, scaled by
``movement_amplitude``) moves over them, each plane taking its depth's share of the motion, so the
near hills slide past the far sky. ``style`` ``anime`` redraws every plane in flat posterized
colours with hard, ink-outlined edges (:mod:`refgen.media.anime`). The draft caption sits in the
corner of every frame.

The planes are painted with a margin around the frame (room for the camera) at the draft's own
density (at most about 640 px wide; it is smooth), premultiplied once; a frame is one warp per plane
at that density, then one upscale to the output size.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from refgen.generation import Frame, GenerationJob
from refgen.media.anime import anime_layer
from refgen.media.backdrop import DraftLayer, draft_layers, prompt_palette
from refgen.media.camera import Camera, movement_factor
from refgen.media.caption import caption_layer
from refgen.media.subject_layer import RGBA, draw_layer

MARGIN = 1.3  # the planes are this much larger than the frame
DRAFT_MAX_SIDE = 640  # planes are painted at about this density, at most, then scaled up


class DraftMotion:
    """The text2video clip of one prompt; :meth:`frame` draws the frame at fraction ``u``, ``t`` s."""

    def __init__(self, job: GenerationJob) -> None:
        self.w, self.h = job.width, job.height
        rng = np.random.default_rng([job.seed & 0xFFFFFFFF, 0x7E])
        k = max(2.0, max(self.w, self.h) / DRAFT_MAX_SIDE)
        self.work = (max(16, round(self.w / k)), max(16, round(self.h / k)))
        pw, ph = (math.ceil(side * MARGIN) for side in self.work)
        palette = prompt_palette(job.prompt, job.seed)
        _, layers = draft_layers(pw, ph, job.prompt, palette, rng)
        if job.style == "anime":
            layers = [anime_layer(layer) for layer in layers]
        self.sky = np.asarray(np.clip(layers[0].color + 0.5, 0, 255), dtype=np.uint8)
        self.sky_depth = layers[0].depth
        self.planes = [(*_premultiplied(layer), layer.depth) for layer in layers[1:]]
        self.paint = (pw, ph)
        factor = movement_factor(job.movement_amplitude, job.prompt)
        angle = float(rng.uniform(0, 2 * math.pi))
        zoom = 0.05 * factor
        pan = 0.04 * factor * self.w
        self.camera = Camera(
            zoom=(1.0, 1.0 + zoom) if rng.random() < 0.6 else (1.0 + zoom, 1.0),
            pan=(pan * math.cos(angle), 0.4 * pan * math.sin(angle)),
            drift=(
                0.006 * factor * self.w,
                float(rng.uniform(0.08, 0.16)),
                float(rng.uniform(0, 2 * math.pi)),
            ),
        )
        self.caption, self.caption_at = caption_layer(self.w, self.h, job.prompt)

    def _matrix(self, cam: tuple[float, float, float], depth: float, offset: tuple[int, int]) -> np.ndarray:
        """Maps a plane's pixels (from its ``offset`` in the painting) to the working frame."""
        z, tx, ty = cam
        zd = 1 + (z - 1) * depth
        ww, wh = self.work
        pw, ph = self.paint
        sx = ww / self.w
        ox = ww / 2 + zd * (offset[0] - pw / 2) + tx * depth * sx
        oy = wh / 2 + zd * (offset[1] - ph / 2) + ty * depth * sx
        return np.array([[zd, 0.0, ox], [0.0, zd, oy]], np.float64)

    def frame(self, u: float, t: float) -> Frame:
        cam = self.camera.at(u, t)
        out: Frame = np.asarray(
            cv2.warpAffine(
                self.sky,
                self._matrix(cam, self.sky_depth, (0, 0)),
                self.work,
                flags=cv2.INTER_LINEAR,
                borderMode=cv2.BORDER_REPLICATE,
            ),
            dtype=np.uint8,
        )
        for pixels, offset, depth in self.planes:
            draw_layer(out, pixels, self._matrix(cam, depth, offset))
        out = np.asarray(cv2.resize(out, (self.w, self.h), interpolation=cv2.INTER_LINEAR), dtype=np.uint8)
        m = np.array([[1.0, 0.0, self.caption_at[0]], [0.0, 1.0, self.caption_at[1]]], np.float64)
        draw_layer(out, self.caption, m)
        return out


def _premultiplied(layer: DraftLayer) -> tuple[RGBA, tuple[int, int]]:
    """The plane's covered part as premultiplied RGBA, and its top-left corner in the painting."""
    h, w = layer.color.shape[:2]
    alpha = np.ones((h, w), np.float32) if layer.alpha is None else layer.alpha
    x0, y0, bw, bh = cv2.boundingRect(np.asarray(alpha > 1 / 255, dtype=np.uint8))
    if bw == 0 or bh == 0:
        x0, y0, bw, bh = 0, 0, 1, 1
    a = alpha[y0 : y0 + bh, x0 : x0 + bw, None]
    pixels = np.empty((bh, bw, 4), np.uint8)
    pixels[..., :3] = np.clip(layer.color[y0 : y0 + bh, x0 : x0 + bw] * a + 0.5, 0, 255)
    pixels[..., 3] = np.clip(a[..., 0] * 255 + 0.5, 0, 255)
    return pixels, (x0, y0)
