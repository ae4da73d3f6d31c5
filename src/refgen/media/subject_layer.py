"""A subject layer: one cut-out subject, ready to draw, and how it moves.

:func:`prepare_layer` scales a cut-out to its size in the frame, premultiplies it and bakes in a soft
contact and drop shadow; :class:`SubjectLayer` holds it with its gentle bob, sway and breath, bounded
by :func:`fit_motion` to the subject's own cell of the layout; :func:`draw_layer` blends it into a
frame through an affine map, touching only the region it covers (``warpAffine`` on uint8).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from refgen.generation import Frame
from refgen.media.layout import Box

RGBA = npt.NDArray[np.uint8]


@dataclass
class SubjectLayer:
    """A subject ready to draw: premultiplied RGBA (shadow baked in) and where it sits."""

    pixels: RGBA  # premultiplied RGBA at its base size, the subject plus padding for the shadow
    anchor: tuple[float, float]  # bottom centre of the subject, in layer pixels
    pixel_height: float  # the subject's height in layer pixels
    size: tuple[float, float]  # the subject's width and height at rest, frame pixels
    position: tuple[float, float]  # where the anchor goes in the frame at rest
    bob: float  # px
    sway: float  # degrees
    breathe: float  # relative scale
    freq: tuple[float, float, float]  # Hz: bob, sway, breathe
    phase: tuple[float, float, float]

    def pose(self, t: float) -> tuple[float, float, float]:
        """(dy px, angle degrees, scale) at ``t`` seconds: at rest at t = 0, smooth, bounded by 2×."""
        fb, fs, fr = self.freq
        pb, ps, pr = self.phase
        dy = self.bob * (math.sin(2 * math.pi * fb * t + pb) - math.sin(pb))
        angle = self.sway * (math.sin(2 * math.pi * fs * t + ps) - math.sin(ps))
        s = 1 + self.breathe * (math.sin(2 * math.pi * fr * t + pr) - math.sin(pr))
        return dy, angle, s

    def envelope(self, k: float = 1.0) -> Box:
        """A box the subject never leaves with its motions scaled by ``k`` (camera at rest)."""
        w, h = self.size
        px, py = self.position
        smax = 1 + 2 * self.breathe * k
        sin = math.sin(math.radians(min(80.0, 2 * self.sway * k)))
        bob = 2 * self.bob * k
        half = smax * (w / 2 + h * sin)
        return Box(px - half, py - smax * (h + w / 2 * sin) - bob, px + half, py + smax * w / 2 * sin + bob)

    def box(self, t: float, camera: tuple[float, float, float], centre: tuple[float, float]) -> Box:
        """The subject's axis-aligned bounding box in the frame at ``t``."""
        m = self._matrix(t, camera, centre)
        w, h = self.size
        pts = np.array([[-w / 2, -h], [w / 2, -h], [-w / 2, 0.0], [w / 2, 0.0]]) @ m[:, :2].T + m[:, 2]
        return Box(
            float(pts[:, 0].min()), float(pts[:, 1].min()), float(pts[:, 0].max()), float(pts[:, 1].max())
        )

    def _matrix(
        self, t: float, camera: tuple[float, float, float], centre: tuple[float, float]
    ) -> npt.NDArray[np.float64]:
        """Maps a point relative to the anchor, in rest frame pixels, to the frame at ``t``."""
        z, tx, ty = camera
        dy, angle, s = self.pose(t)
        theta = math.radians(angle)
        cos, sin = math.cos(theta) * s * z, math.sin(theta) * s * z
        cx, cy = centre
        px, py = self.position
        ox = cx + z * (px - cx) + tx
        oy = cy + z * (py + dy - cy) + ty
        return np.array([[cos, -sin, ox], [sin, cos, oy]], np.float64)

    def layer_matrix(
        self, t: float, camera: tuple[float, float, float], centre: tuple[float, float]
    ) -> npt.NDArray[np.float64]:
        """Maps layer pixels to the frame at ``t``."""
        m = self._matrix(t, camera, centre)
        k = self.size[1] / max(1e-6, self.pixel_height)
        ax, ay = self.anchor
        lin = m[:, :2] * k
        return np.column_stack([lin, m[:, 2] - lin @ np.array([ax, ay])])


def draw_layer(out: Frame, pixels: RGBA, m: npt.NDArray[np.float64]) -> None:
    """Blend premultiplied ``pixels`` into ``out`` through the affine ``m``, touching only its region."""
    h, w = out.shape[:2]
    lh, lw = pixels.shape[:2]
    corners = np.array([[0, 0, 1], [lw, 0, 1], [0, lh, 1], [lw, lh, 1]], np.float64) @ m.T
    x0 = max(0, math.floor(corners[:, 0].min()))
    y0 = max(0, math.floor(corners[:, 1].min()))
    x1 = min(w, math.ceil(corners[:, 0].max()) + 1)
    y1 = min(h, math.ceil(corners[:, 1].max()) + 1)
    if x1 <= x0 or y1 <= y0:
        return
    m = m.copy()
    m[0, 2] -= x0
    m[1, 2] -= y0
    warped = cv2.warpAffine(
        pixels, m, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT
    )
    rgb = cv2.cvtColor(warped, cv2.COLOR_RGBA2RGB)
    inv = cv2.cvtColor(cv2.bitwise_not(cv2.extractChannel(warped, 3)), cv2.COLOR_GRAY2RGB)
    roi = out[y0:y1, x0:x1]
    roi[...] = cv2.add(cv2.multiply(roi, inv, scale=1 / 255), rgb)


def make_layer(
    crop: RGBA, box: Box, factor: float, i: int, rng: np.random.Generator, height: int
) -> SubjectLayer:
    pixels, anchor, pixel_height = prepare_layer(crop, box.height)
    return SubjectLayer(
        pixels=pixels,
        anchor=anchor,
        pixel_height=pixel_height,
        size=(box.width, box.height),
        position=(box.centre_x, box.y1),
        bob=0.01 * factor * height * float(rng.uniform(0.7, 1.2)),
        sway=1.2 * factor * float(rng.uniform(0.7, 1.2)),
        breathe=0.006 * factor,
        freq=(float(rng.uniform(0.35, 0.6)), float(rng.uniform(0.25, 0.45)), float(rng.uniform(0.2, 0.4))),
        phase=(
            float(rng.uniform(0, 2 * math.pi)),
            0.6 * i + float(rng.uniform(0, 2 * math.pi)),
            float(rng.uniform(0, 2 * math.pi)),
        ),
    )


def fit_motion(layer: SubjectLayer, cell: Box) -> None:
    """Scale the layer's own motions down until it never leaves its cell."""
    if layer.envelope().inside(cell):
        return
    lo, hi = 0.0, 1.0
    for _ in range(20):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if layer.envelope(mid).inside(cell) else (lo, mid)
    layer.bob *= lo
    layer.sway *= lo
    layer.breathe *= lo


def crop_subject(rgba: RGBA, mask: npt.NDArray[np.uint8]) -> RGBA:
    """The subject's bounding box with the mask as alpha."""
    h, w = mask.shape
    x0, y0, bw, bh = cv2.boundingRect(np.asarray(mask > 24, dtype=np.uint8))  # of the non-zero pixels
    if bw == 0 or bh == 0:
        y0, y1, x0, x1 = 0, h, 0, w
    else:
        y1, x1 = y0 + bh, x0 + bw
    out = rgba[y0:y1, x0:x1].copy()
    out[..., 3] = mask[y0:y1, x0:x1]
    return out


def prepare_layer(crop: RGBA, height: float) -> tuple[RGBA, tuple[float, float], float]:
    """Scale a cut-out to ``height`` px (aspect kept), premultiply, bake in soft shadows.

    Returns the layer's pixels, the subject's bottom centre in them and the subject's height in them.
    """
    ch, cw = crop.shape[:2]
    scale = max(1e-3, height / ch)
    size = (max(2, round(cw * scale)), max(2, round(height)))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    sub = cv2.resize(crop, size, interpolation=interp)
    sh, sw = sub.shape[:2]
    pad_x, pad_top, pad_bottom = round(0.06 * sw) + 4, 4, round(0.06 * sh) + 4
    lh, lw = sh + pad_top + pad_bottom, sw + 2 * pad_x
    alpha = np.zeros((lh, lw), np.float32)
    alpha[pad_top : pad_top + sh, pad_x : pad_x + sw] = sub[..., 3].astype(np.float32) / 255
    # shadows are soft, so they are computed at a small size and scaled up
    f = max(1, round(sh / 160))
    small = cv2.resize(alpha, (max(2, lw // f), max(2, lh // f)), interpolation=cv2.INTER_AREA)
    ssh = sh / f
    shift = np.array([[1, 0, 0.02 * ssh], [0, 1, 0.025 * ssh]], np.float64)
    drop = cv2.warpAffine(small, shift, (small.shape[1], small.shape[0]), borderMode=cv2.BORDER_CONSTANT)
    drop = cv2.GaussianBlur(drop, (0, 0), max(1.0, 0.025 * ssh)) * 0.3
    contact = np.zeros_like(small)
    base_y = (pad_top + sh) / f
    cx = (pad_x + sw / 2) / f
    axes = (max(1, round(sw / f * 0.42)), max(1, round(ssh * 0.035)))
    cv2.ellipse(contact, (round(cx), round(base_y)), axes, 0, 0, 360, 1.0, -1, lineType=cv2.LINE_AA)
    contact = cv2.GaussianBlur(contact, (0, 0), max(1.0, ssh * 0.02)) * 0.45
    shadow = np.maximum(drop, contact)
    shadow = cv2.resize(shadow, (lw, lh), interpolation=cv2.INTER_LINEAR)
    a = alpha[..., None]
    out_alpha = alpha + shadow * (1 - alpha)
    rgb = np.zeros((lh, lw, 3), np.float32)
    rgb[pad_top : pad_top + sh, pad_x : pad_x + sw] = sub[..., :3]
    premult = rgb * a  # shadow is black: it adds alpha, no colour
    pixels = np.empty((lh, lw, 4), np.uint8)
    pixels[..., :3] = np.clip(premult + 0.5, 0, 255)
    pixels[..., 3] = np.clip(out_alpha * 255 + 0.5, 0, 255)
    return pixels, (pad_x + sw / 2, pad_top + sh), float(sh)
