"""start-end2video: a morph from the start picture to the end picture under a camera move.

The first frame is the start picture and the last the end picture, both cover-scaled to the output
size. In between, dense optical flow (Farnebäck, computed once at a small size in both directions)
carries each picture's pixels toward where they are in the other: the start picture is warped
forward along its flow by the eased progress ``s``, the end picture backward along its own by
``1 - s``, and the two are dissolved with weight ``s``. What the two pictures share travels into
place; what they do not fades across while moving. Over it a camera pushes in and back out (and
drifts sideways), eased so it is at rest on the first and last frame.

The warps run at a working size of at most ``MORPH_MAX_SIDE`` px, and no larger than the pictures'
own density (maps built at a quarter of it, where they are smooth), and are scaled up; near either
end the picture's own fine detail (what the working size loses) is added back as the morph leaves
or reaches it, so the clip starts and ends sharp without a jump.
"""

from __future__ import annotations

import math
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from refgen.generation import Frame, GenerationJob
from refgen.media.backdrop import cover
from refgen.media.camera import movement_factor
from refgen.media.photo_motion import flatten, working_size
from refgen.media.subject_layer import RGBA

MORPH_MAX_SIDE = 960  # the warps run at most this size (long side), then are scaled up
FLOW_MAX_SIDE = 192  # optical flow is computed at this size
PUSH = 0.05  # the camera's push-in at the middle of the clip, at movement factor 1
DETAIL_SPAN = 0.1  # the dissolve's share over which a picture's fine detail fades out
NEUTRAL = (236, 234, 228)  # what shows through a transparent picture

Map = npt.NDArray[np.float32]


class Morph:
    """The start-end2video clip of two references; :meth:`frame` draws the frame at fraction ``u``."""

    def __init__(self, job: GenerationJob, start: RGBA, end: RGBA) -> None:
        self.w, self.h = job.width, job.height
        rng = np.random.default_rng([job.seed & 0xFFFFFFFF, 0x5E])
        background = np.empty((self.h, self.w, 3), np.uint8)
        background[...] = NEUTRAL
        self.start = flatten(cover(start, self.w, self.h), background)
        self.end = flatten(cover(end, self.w, self.h), background)
        dense = working_size(self.w, self.h, [start.shape[:2], end.shape[:2]])
        k = min(1.0, MORPH_MAX_SIDE / max(dense))
        self.work = (max(8, round(dense[0] * k)), max(8, round(dense[1] * k)))
        ww, wh = self.work
        self.small = [
            np.asarray(cv2.resize(p, self.work, interpolation=cv2.INTER_AREA), dtype=np.uint8)
            for p in (self.start, self.end)
        ]
        # fine detail the working size loses, when the pictures have more than it keeps
        sharp = k < 1 and self.work != (self.w, self.h)
        self.detail = (
            [_detail(p, s) for p, s in zip((self.start, self.end), self.small, strict=True)] if sharp else []
        )
        self.grid_size = (max(4, ww // 4), max(4, wh // 4))
        self.flows = _flows(self.small[0], self.small[1], self.grid_size, ww)
        gw, gh = self.grid_size
        # the working-size coordinates of the quarter grid's pixel centres (so scaling up is exact)
        xs = (np.arange(gw, dtype=np.float32) + 0.5) * ww / gw - 0.5
        ys = (np.arange(gh, dtype=np.float32) + 0.5) * wh / gh - 0.5
        self.grid = np.dstack(np.meshgrid(xs, ys)).astype(np.float32)
        factor = movement_factor(job.movement_amplitude, job.prompt)
        self.push = PUSH * factor
        angle = float(rng.uniform(0, 2 * math.pi))
        self.pan = (0.5 * self.push * ww / 2 * math.cos(angle), 0.5 * self.push * wh / 2 * math.sin(angle))

    def frame(self, u: float, t: float) -> Frame:
        if u <= 0:
            return self.start.copy()
        if u >= 1:
            return self.end.copy()
        s = u * u * (3 - 2 * u)
        bump = math.sin(math.pi * u) ** 4  # still near the ends, where the detail comes back
        z = 1 + self.push * bump
        ww, wh = self.work
        cx, cy = ww / 2, wh / 2
        # where each output pixel looks in the (unwarped) morph: the camera, inverted
        base = (self.grid - np.array([cx + self.pan[0] * bump, cy + self.pan[1] * bump], np.float32)) / z
        base += np.array([cx, cy], np.float32)
        warped = []
        for picture, flow, amount in zip(self.small, self.flows, (s, 1 - s), strict=True):
            coarse = np.asarray(base - amount * flow, dtype=np.float32)
            fine = np.asarray(cv2.resize(coarse, self.work, interpolation=cv2.INTER_LINEAR), np.float32)
            remap: Any = cv2.remap  # the stubs do not allow map2=None
            warped.append(remap(picture, fine, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT101))
        mixed = cv2.addWeighted(warped[0], 1 - s, warped[1], s, 0.0)
        if self.work != (self.w, self.h):
            mixed = cv2.resize(mixed, (self.w, self.h), interpolation=cv2.INTER_LINEAR)
        if self.detail:
            # each picture's detail, fading with its share of the dissolve, gone before the camera moves
            weights = (1 - s / DETAIL_SPAN, 1 - (1 - s) / DETAIL_SPAN)
            for (up, down), weight in zip(self.detail, weights, strict=True):
                if weight > 0.01:
                    mixed = cv2.addWeighted(mixed, 1.0, up, weight, 0.0)
                    mixed = cv2.addWeighted(mixed, 1.0, down, -weight, 0.0)
        return np.asarray(mixed, dtype=np.uint8)


def _detail(picture: Frame, small: Frame) -> tuple[Frame, Frame]:
    """What scaling ``small`` back up loses of ``picture``: its positive and negative parts."""
    h, w = picture.shape[:2]
    up = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    diff = picture.astype(np.int16) - up.astype(np.int16)
    return (
        np.asarray(np.clip(diff, 0, 255), dtype=np.uint8),
        np.asarray(np.clip(-diff, 0, 255), dtype=np.uint8),
    )


def _flows(a: Frame, b: Frame, size: tuple[int, int], work_width: int) -> tuple[Map, Map]:
    """Dense flow a→b and b→a at ``size``, in working-size pixels.

    ``a(x) ≈ b(x + flow_ab(x))``: the start picture's pixel at x is at x + flow_ab(x) in the end one.
    """
    k = min(1.0, FLOW_MAX_SIDE / max(a.shape[:2]))
    fsize = (max(8, round(a.shape[1] * k)), max(8, round(a.shape[0] * k)))
    ga, gb = (
        np.asarray(
            cv2.cvtColor(cv2.resize(p, fsize, interpolation=cv2.INTER_AREA), cv2.COLOR_RGB2GRAY), np.uint8
        )
        for p in (a, b)
    )
    flows = []
    for x, y in ((ga, gb), (gb, ga)):
        farneback: Any = cv2.calcOpticalFlowFarneback  # the stubs do not allow flow=None
        flow = farneback(x, y, None, 0.5, 3, 15, 3, 5, 1.2, 0)
        flow = cv2.GaussianBlur(flow, (0, 0), 1.5) * (work_width / fsize[0])
        flows.append(np.asarray(cv2.resize(flow, size, interpolation=cv2.INTER_AREA), dtype=np.float32))
    return flows[0], flows[1]
