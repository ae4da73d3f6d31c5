"""A compositor scene: the backdrop, the subject layers and the camera for one job; draws frames.

The first reference that is mostly scenery becomes the backdrop; without one, a seeded studio wall
and floor in colours that set the subjects off (:mod:`refgen.media.backdrop`). Subjects are laid out
in the order given, keeping their aspect ratios, in rows that never overlap
(:mod:`refgen.media.layout`; in reference2video's subjects form one cell per subject holds all of
its pictures, and none becomes the backdrop), each a
:class:`~refgen.media.subject_layer.SubjectLayer`. Videos move a seeded
:class:`~refgen.media.camera.Camera` over them; the backdrop moves half as much, for parallax.
The smooth backdrop is warped at its own, smaller, resolution and upscaled.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from refgen.generation import Frame, GenerationJob
from refgen.media.backdrop import Color, cover, draft_scene, prompt_palette, studio_backdrop, subject_palette
from refgen.media.camera import Camera, movement_factor
from refgen.media.cutout import Cutout, card_mask
from refgen.media.images import DecodeSize
from refgen.media.layout import Box, layout_groups, layout_subjects, motion_room
from refgen.media.subject_layer import RGBA, crop_subject, draw_layer, fit_motion, make_layer

BACKDROP_MARGIN = 1.2  # the backdrop is this much larger than the frame, room for the camera
PAINT_SCALE = 4  # a painted backdrop is kept at 1/PAINT_SCALE of the frame size (it is smooth)
CAMERA_ROOM = 0.06  # the layout shrinks by 1 / (1 + this × movement factor)
PARALLAX = 0.5  # the backdrop moves this fraction of the subjects' camera motion
SUBJECT_DETAIL = 2.0
"""A reference is decoded with this many times the resolution a subject filling the frame needs:
a subject that is half of its picture still gets all the detail it can show."""


@dataclass(frozen=True)
class Reference:
    """A reference picture as the scene uses it: its pixels and its cut-out."""

    rgba: RGBA
    cutout: Cutout


def decode_size(width: int, height: int) -> DecodeSize:
    """What a compositor clip of ``width`` × ``height`` uses of a reference: enough to cover the
    backdrop (the frame and the camera's margin), and ``SUBJECT_DETAIL`` times what it takes to fit a
    subject inside the frame. Subjects, backdrops, img2video's picture and start-end2video's
    pictures never show more (:func:`refgen.media.backdrop.cover` and :func:`prepare_layer
    <refgen.media.subject_layer.prepare_layer>` scale them down to that)."""
    margin = BACKDROP_MARGIN
    return DecodeSize(
        cover=(math.ceil(width * margin), math.ceil(height * margin)),
        contain=(math.ceil(width * SUBJECT_DETAIL), math.ceil(height * SUBJECT_DETAIL)),
    )


class Scene:
    """Everything precomputed for one job; :meth:`frame` draws one frame, :meth:`boxes` says where
    each subject is. ``still`` scenes (images) have no camera margin and no motion."""

    def __init__(self, job: GenerationJob, references: Sequence[Reference], *, still: bool = False) -> None:
        self.w, self.h = job.width, job.height
        self.still = still
        rng = np.random.default_rng([job.seed & 0xFFFFFFFF, 0xC0])
        self.factor = 0.0 if still else movement_factor(job.movement_amplitude, job.prompt)
        # in the subjects form every picture belongs to its subject: none becomes the backdrop
        grouped = bool(job.subjects)
        scenery = None if grouped else next((r for r in references if r.cutout.scenery), None)
        subjects = [
            (r.rgba, r.cutout.mask if not r.cutout.scenery else card_mask(*r.rgba.shape[:2]))
            for r in references
            if r is not scenery
        ]
        if subjects:
            palette = subject_palette(subjects, rng)
        elif scenery is not None:
            palette = subject_palette([(scenery.rgba, np.full(scenery.rgba.shape[:2], 255, np.uint8))], rng)
        else:
            palette = prompt_palette(job.prompt, job.seed)
        crops = [crop_subject(rgba, mask) for rgba, mask in subjects]
        aspects = [c.shape[1] / c.shape[0] for c in crops]
        if grouped:
            counts = [len(s.references) for s in job.subjects]
            boxes = layout_groups(aspects, counts, self.w, self.h, rng)
        else:
            boxes = layout_subjects(aspects, self.w, self.h, rng)
        # leave the camera room to move: the more movement, the smaller the layout (about the centre)
        shrink = 1 / (1 + CAMERA_ROOM * self.factor)
        boxes = [_scale_box(b, shrink, self.w / 2, self.h / 2) for b in boxes]
        self.layers = [
            make_layer(c, b, self.factor, i, rng, self.h)
            for i, (c, b) in enumerate(zip(crops, boxes, strict=True))
        ]
        for layer, cell in zip(self.layers, motion_room(boxes, self.w, self.h), strict=True):
            fit_motion(layer, cell)
        self.camera = self._camera(rng)
        self.backdrop = self._backdrop(job, scenery, palette, boxes, rng)

    # ------------------------------------------------------------ set-up

    def _camera(self, rng: np.random.Generator) -> Camera:
        angle = rng.uniform(0, 2 * math.pi)
        pan = 0.03 * self.factor * self.w
        zoom_delta = 0.035 * self.factor
        zoom = (1.0, 1.0 + zoom_delta) if rng.random() < 0.65 else (1.0 + zoom_delta, 1.0)
        camera = Camera(
            zoom=zoom,
            pan=(pan * math.cos(angle), pan * math.sin(angle) * 0.5),
            drift=(
                0.004 * self.factor * self.w,
                float(rng.uniform(0.08, 0.16)),
                float(rng.uniform(0, 2 * math.pi)),
            ),
        )
        if not self.layers:
            return camera
        content = _union([layer.envelope() for layer in self.layers])
        lo, hi = 0.0, 1.0
        if camera.keeps_inside(content, self.w, self.h):
            return camera
        for _ in range(20):
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if camera.scaled(mid).keeps_inside(content, self.w, self.h) else (lo, mid)
        return camera.scaled(lo)

    def _backdrop(
        self,
        job: GenerationJob,
        scenery: Reference | None,
        palette: list[Color],
        boxes: list[Box],
        rng: np.random.Generator,
    ) -> Frame:
        margin = 1.0 if self.still else BACKDROP_MARGIN
        bw, bh = math.ceil(self.w * margin), math.ceil(self.h * margin)
        self.backdrop_size = (bw, bh)  # frame pixels the backdrop covers
        if scenery is not None:
            rgb = np.ascontiguousarray(scenery.rgba[..., :3])
            if self.still:
                return cover(rgb, bw, bh)
            return cover(rgb, bw, bh, max_side=max(rgb.shape[:2]))
        paint = (bw, bh) if self.still else (max(8, bw // PAINT_SCALE), max(8, bh // PAINT_SCALE))
        if not self.layers:
            return draft_scene(*paint, job.prompt, palette, rng)
        bottom_row = [b for b in boxes if b.y1 > boxes[-1].y0]
        floor = max(b.y1 for b in bottom_row) - 0.3 * max(b.height for b in bottom_row)
        horizon = min(0.82, max(0.5, (floor + (bh - self.h) / 2) / bh))
        return studio_backdrop(*paint, palette, rng, horizon=horizon)

    # ------------------------------------------------------------ drawing

    def camera_at(self, u: float, t: float) -> tuple[float, float, float]:
        return (1.0, 0.0, 0.0) if self.still else self.camera.at(u, t)

    def boxes(self, u: float, t: float) -> list[Box]:
        """Each subject's bounding box in the frame at clip fraction ``u``, time ``t`` (for tests)."""
        cam = self.camera_at(u, t)
        return [layer.box(t, cam, (self.w / 2, self.h / 2)) for layer in self.layers]

    def frame(self, u: float, t: float) -> Frame:
        """The frame at clip fraction ``u`` (0 first … 1 last) and ``t`` seconds."""
        cam = self.camera_at(u, t)
        out = self._draw_backdrop(cam)
        centre = (self.w / 2, self.h / 2)
        for layer in self.layers:
            draw_layer(out, layer.pixels, layer.layer_matrix(t, cam, centre))
        return out

    def _draw_backdrop(self, cam: tuple[float, float, float]) -> Frame:
        z, tx, ty = cam
        bh_px, bw_px = self.backdrop.shape[:2]
        bw = self.backdrop_size[0]
        d = bw_px / bw  # backdrop pixels per frame pixel
        if self.still and bw_px == self.w and bh_px == self.h:
            return self.backdrop.copy()
        # render at the backdrop's own density (d ≤ 1), then upscale: a smooth backdrop costs little
        d = min(1.0, d)
        ow, oh = max(2, math.ceil(self.w * d)), max(2, math.ceil(self.h * d))
        zb = 1 + (z - 1) * PARALLAX
        k = zb * (ow / self.w) / (bw_px / bw)  # backdrop px -> working px
        m = np.array(
            [
                [k, 0, ow / 2 - k * bw_px / 2 + tx * PARALLAX * ow / self.w],
                [0, k, oh / 2 - k * bh_px / 2 + ty * PARALLAX * oh / self.h],
            ],
            np.float64,
        )
        small = cv2.warpAffine(
            self.backdrop, m, (ow, oh), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
        )
        if (ow, oh) == (self.w, self.h):
            return np.asarray(small, dtype=np.uint8)
        return np.asarray(cv2.resize(small, (self.w, self.h), interpolation=cv2.INTER_LINEAR), dtype=np.uint8)


def _scale_box(box: Box, k: float, cx: float, cy: float) -> Box:
    return Box(cx + (box.x0 - cx) * k, cy + (box.y0 - cy) * k, cx + (box.x1 - cx) * k, cy + (box.y1 - cy) * k)


def _union(boxes: Sequence[Box]) -> Box:
    return Box(
        min(b.x0 for b in boxes), min(b.y0 for b in boxes), max(b.x1 for b in boxes), max(b.y1 for b in boxes)
    )
