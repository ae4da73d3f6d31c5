"""img2video: one picture brought to life by a camera push and pan with parallax.

The first frame is the picture itself, cover-scaled to the output size. From there a seeded camera
pushes in and pans (an eased move, both scaled by ``movement_amplitude``) over two planes: the
subject, cut out of the picture (:mod:`refgen.media.cutout`), moves with the camera, the background
behind it half as much, so the subject separates from its background as in a dolly shot. Where the
subject stood, the background plate is filled in: inpainted (OpenCV's Telea inpainting) at a small
size, where it only has to be plausible, softly blended into the picture around the hole.

A picture with its own transparency stands on a seeded studio backdrop (:mod:`refgen.media.backdrop`),
which is then the background plane. A picture with no subject to cut (a landscape, a texture, or one
GrabCut finds nothing in) is one plane, moved by the camera as a whole. The pan never reveals the
plate's edge: it stays within what the push-in crops away.

Frames are drawn at the picture's own density when the output enlarges it (:func:`working_size`),
then scaled up once: the same detail as drawing at the output size, for a fraction of the work.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import cv2
import numpy as np
import numpy.typing as npt

from refgen.generation import Frame, GenerationJob
from refgen.media.backdrop import cover, studio_backdrop, subject_palette
from refgen.media.camera import movement_factor
from refgen.media.cutout import Mask
from refgen.media.scene import Reference
from refgen.media.subject_layer import RGBA, draw_layer

PUSH = 0.06  # the camera's push-in (relative zoom) over the clip, at movement factor 1
PAN_SHARE = 0.8  # of what the push-in crops away on each side, the most the pan travels
BACKGROUND_DEPTH = 0.5  # the background moves this fraction of the camera's motion
GLIDE = 0.3  # the share of the move that keeps accelerating to the last frame instead of easing out
INPAINT_MAX_SIDE = 128  # the hole behind the subject is filled at this size, then scaled up


class PhotoMotion:
    """The img2video clip of one reference; :meth:`frame` draws the frame at clip fraction ``u``."""

    def __init__(self, job: GenerationJob, reference: Reference) -> None:
        self.size = (job.width, job.height)
        self.w, self.h = working_size(job.width, job.height, [reference.rgba.shape[:2]])
        rng = np.random.default_rng([job.seed & 0xFFFFFFFF, 0x1A])
        cut = reference.cutout
        rgba = cover(reference.rgba, self.w, self.h)
        mask: Mask = cover(cut.mask, self.w, self.h)
        layered = cut.source == "alpha" or (cut.source == "grabcut" and not cut.scenery)
        if cut.source == "alpha":
            palette = subject_palette([(reference.rgba, cut.mask)], rng)
            plate = studio_backdrop(self.w, self.h, palette, rng)
            self.picture = flatten(rgba, plate)
        else:
            self.picture = np.ascontiguousarray(rgba[..., :3])
            plate = fill_hole(self.picture, mask) if layered else self.picture
        self.plate = plate
        self.layer: RGBA | None = None
        self.offset = (0, 0)
        if layered:
            self.layer, self.offset = premultiplied_cut(self.picture, mask)
        factor = movement_factor(job.movement_amplitude, job.prompt)
        self.push = PUSH * factor
        angle = float(rng.uniform(0, 2 * math.pi))
        self.pan = (
            PAN_SHARE * self.push * self.w / 2 * math.cos(angle),
            PAN_SHARE * self.push * self.h / 2 * math.sin(angle),
        )
        self.depth = BACKGROUND_DEPTH if self.layer is not None else 1.0

    def camera_at(self, u: float) -> tuple[float, float, float]:
        """(zoom, tx, ty) at clip fraction ``u``: at rest at 0, eased in, pushing in to the end."""
        u = min(1.0, max(0.0, u))
        # eased in from rest, and still moving at the end (a clip that stops looks frozen)
        e = (1 - GLIDE) * (0.5 - 0.5 * math.cos(math.pi * u)) + GLIDE * u * u
        return 1 + self.push * e, self.pan[0] * e, self.pan[1] * e

    def frame(self, u: float, t: float) -> Frame:
        z, tx, ty = self.camera_at(u)
        d = self.depth
        out: Frame = np.asarray(
            cv2.warpAffine(
                self.plate,
                _zoom_matrix(1 + (z - 1) * d, tx * d, ty * d, self.w, self.h),
                (self.w, self.h),
                flags=cv2.INTER_LINEAR,
                borderMode=cv2.BORDER_REFLECT101,
            ),
            dtype=np.uint8,
        )
        if self.layer is not None:
            m = _zoom_matrix(z, tx, ty, self.w, self.h)
            m[:, 2] += m[:, :2] @ np.array(self.offset, np.float64)
            draw_layer(out, self.layer, m)
        if (self.w, self.h) != self.size:
            out = np.asarray(cv2.resize(out, self.size, interpolation=cv2.INTER_LINEAR), dtype=np.uint8)
        return out


def working_size(width: int, height: int, pictures: Sequence[tuple[int, int]]) -> tuple[int, int]:
    """The size to draw at: the output's, or smaller where the pictures (``(h, w)``, cover-scaled
    to the output) are enlarged anyway; drawing at their own density and scaling the frame up
    once shows the same detail for a fraction of the work."""
    enlarge = min(max(width / w, height / h) for h, w in pictures)
    if enlarge <= 1:
        return width, height
    return max(16, round(width / enlarge)), max(16, round(height / enlarge))


def _zoom_matrix(z: float, tx: float, ty: float, w: int, h: int) -> npt.NDArray[np.float64]:
    """Frame pixels zoomed by ``z`` about the frame's centre, then moved by (tx, ty)."""
    cx, cy = w / 2, h / 2
    return np.array([[z, 0.0, cx - z * cx + tx], [0.0, z, cy - z * cy + ty]], np.float64)


def flatten(rgba: RGBA, background: Frame) -> Frame:
    """``rgba`` composited over ``background`` (same size): an RGB picture."""
    if int(rgba[..., 3].min()) == 255:
        return np.ascontiguousarray(rgba[..., :3])
    a = rgba[..., 3:].astype(np.float32) / 255
    mixed = rgba[..., :3].astype(np.float32) * a + background.astype(np.float32) * (1 - a)
    return np.asarray(np.clip(mixed + 0.5, 0, 255), dtype=np.uint8)


def premultiplied_cut(picture: Frame, mask: Mask) -> tuple[RGBA, tuple[int, int]]:
    """The subject's bounding box of ``picture`` as premultiplied RGBA, and where its corner sits."""
    x0, y0, bw, bh = cv2.boundingRect(np.asarray(mask > 8, dtype=np.uint8))
    if bw == 0 or bh == 0:
        x0, y0, bh, bw = 0, 0, *mask.shape
    a = mask[y0 : y0 + bh, x0 : x0 + bw]
    layer = np.empty((bh, bw, 4), np.uint8)
    layer[..., :3] = cv2.multiply(
        picture[y0 : y0 + bh, x0 : x0 + bw], cv2.cvtColor(a, cv2.COLOR_GRAY2RGB), scale=1 / 255
    )
    layer[..., 3] = a
    return layer, (x0, y0)


def fill_hole(picture: Frame, mask: Mask) -> Frame:
    """The picture with the subject (``mask``, widened a little) replaced by a plausible background.

    Inpainted at most ``INPAINT_MAX_SIDE`` px on the long side, scaled up, and blended in softly.
    """
    h, w = mask.shape
    k = min(1.0, INPAINT_MAX_SIDE / max(h, w))
    size = (max(8, round(w * k)), max(8, round(h * k)))
    small = cv2.resize(picture, size, interpolation=cv2.INTER_AREA)
    hole = np.asarray(cv2.resize(mask, size, interpolation=cv2.INTER_AREA) > 12, dtype=np.uint8) * 255
    grow = max(1, round(0.02 * max(size)))
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1, 2 * grow + 1))
    hole = np.asarray(cv2.dilate(hole, disc), dtype=np.uint8)
    inpainted = cv2.inpaint(small, hole, 3, cv2.INPAINT_TELEA)
    filled = cv2.GaussianBlur(inpainted, (0, 0), grow / 2 + 1)
    weight = cv2.GaussianBlur(hole.astype(np.float32) / 255, (0, 0), max(1.0, grow / 2))
    weight = np.asarray(np.clip(weight * 1.5, 0, 1), dtype=np.float32)
    up = cv2.resize(filled, (w, h), interpolation=cv2.INTER_LINEAR).astype(np.float32)
    wu = cv2.resize(weight, (w, h), interpolation=cv2.INTER_LINEAR)[..., None]
    plate = picture.astype(np.float32) * (1 - wu) + up * wu
    return np.asarray(np.clip(plate + 0.5, 0, 255), dtype=np.uint8)
