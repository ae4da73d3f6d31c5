"""The ``compositor`` backend: a deterministic CPU renderer built from the references, no model.

Each reference becomes a subject layer (its own alpha, else a GrabCut cut-out, see
:mod:`refgen.media.cutout`) with a soft contact and drop shadow. The first reference that is mostly
scenery (little foreground) becomes the backdrop instead; without one, the backdrop is a seeded
studio wall and floor in colours that set the subjects off (:mod:`refgen.media.backdrop`). Subjects
are laid out in the order given, keeping their aspect ratios, in rows that never overlap
(:mod:`refgen.media.layout`).

Videos move a seeded camera (an eased pan and zoom plus a slow drift; the backdrop moves half as
much, for parallax) and give every subject a gentle bob, sway and breath. All of it scales with
``movement_amplitude`` (``auto`` reads the prompt's verbs), and all of it is bounded: each subject
moves only within its own cell of the layout and the camera never pushes a subject out of the
frame. Motions are sums of slow sines and a cosine ease, so consecutive frames never jump.

With no references an image job gets a seeded draft scene whose palette and composition come from
the prompt's words, captioned as a draft.

Rendering is vectorised OpenCV on uint8 (``warpAffine`` of premultiplied layers into their small
regions of the frame; the smooth backdrop is warped at its own, smaller, resolution and upscaled),
so a 1080p frame costs less than encoding it. Frames are made lazily, one at a time, as the stream
is read. Same job and seed → identical frames and music.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import queue
import re
import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw, ImageFont

from refgen.backends.base import (
    CancelToken,
    Frame,
    GenerationJob,
    ImageOutput,
    ProgressFn,
    VideoOutput,
)
from refgen.domain import TaskKind
from refgen.errors import GenerationCancelled
from refgen.media.backdrop import Color, cover, draft_scene, prompt_palette, studio_backdrop, subject_palette
from refgen.media.cutout import Cutout, card_mask, cut_out
from refgen.media.images import load_rgba
from refgen.media.layout import Box, layout_subjects, motion_room
from refgen.media.music import synthesize_music

RGBA = npt.NDArray[np.uint8]

AMPLITUDES = {"small": 0.4, "medium": 1.0, "large": 2.0}
SAMPLE_RATE = 48_000
PROGRESS_EVERY = 6  # frames
BACKDROP_MARGIN = 1.2  # the backdrop is this much larger than the frame, room for the camera
PAINT_SCALE = 4  # a painted backdrop is kept at 1/PAINT_SCALE of the frame size (it is smooth)
CAMERA_ROOM = 0.06  # the layout shrinks by 1 / (1 + this × movement factor)
PARALLAX = 0.5  # the backdrop moves this fraction of the subjects' camera motion
CACHE_SIZE = 64
PREFETCH = 3  # frames drawn ahead of the encoder

_ACTION = re.compile(
    r"\b(run\w*|ran|jump\w*|danc\w*|fl(y|ies|ying|ew)|rac(e|es|ing)|chas\w*|fight\w*|spin\w*|leap\w*|"
    r"sprint\w*|kick\w*|throw\w*|gallop\w*|rush\w*|swing\w*|surf\w*|ski(s|ing)?|explod\w*|bounc\w*|"
    r"somersault\w*|battle\w*|dash\w*|hurr(y|ies|ied)|zoom\w*|twirl\w*|skat\w*|charg\w*|crash\w*)\b",
    re.IGNORECASE,
)
_CALM = re.compile(
    r"\b(calm\w*|still|gentl\w*|quiet\w*|sleep\w*|slow\w*|rest\w*|sit\w*|sat|peace\w*|seren\w*|"
    r"portrait\w*|meditat\w*|relax\w*|static|idle|tranquil\w*|softly|pos(e|es|ing)|stand\w*|stood|"
    r"lie|lies|lying|float\w*|doz\w*|wait\w*|listen\w*|read(s|ing)?)\b",
    re.IGNORECASE,
)


def movement_factor(amplitude: str, prompt: str) -> float:
    """How much things move: small < medium < large; ``auto`` reads the prompt's verbs.

    ``auto``: a prompt with an action verb (run, jump, dance, fly…) moves like ``large``; one with
    only calm verbs (sit, sleep, pose, rest…) like ``small``; anything else like ``medium``.
    """
    if amplitude in AMPLITUDES:
        return AMPLITUDES[amplitude]
    if _ACTION.search(prompt):
        return AMPLITUDES["large"]
    if _CALM.search(prompt):
        return AMPLITUDES["small"]
    return AMPLITUDES["medium"]


@dataclass
class _Layer:
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


@dataclass
class _Camera:
    zoom: tuple[float, float]  # start, end
    pan: tuple[float, float]  # px over the whole clip, for the subject plane
    drift: tuple[float, float, float]  # amplitude px, frequency Hz, phase

    def at(self, u: float, t: float) -> tuple[float, float, float]:
        """(zoom, tx, ty) at clip fraction ``u`` and time ``t`` seconds."""
        e = 0.5 - 0.5 * math.cos(math.pi * u)
        z = self.zoom[0] + (self.zoom[1] - self.zoom[0]) * e
        amp, freq, phase = self.drift
        wobble = amp * (math.sin(2 * math.pi * freq * t + phase) - math.sin(phase))
        return z, self.pan[0] * e + wobble, self.pan[1] * e + 0.5 * wobble

    def scaled(self, k: float) -> _Camera:
        z0, z1 = self.zoom
        return _Camera(
            zoom=(1 + (z0 - 1) * k, 1 + (z1 - 1) * k),
            pan=(self.pan[0] * k, self.pan[1] * k),
            drift=(self.drift[0] * k, self.drift[1], self.drift[2]),
        )

    def keeps_inside(self, content: Box, width: int, height: int) -> bool:
        """True when ``content`` stays in the frame (a 1% border) for every zoom and pan it can take."""
        zs = self.zoom
        amp = 2 * abs(self.drift[0])
        xs = (min(0.0, self.pan[0]) - amp, max(0.0, self.pan[0]) + amp)
        ys = (min(0.0, self.pan[1]) - amp / 2, max(0.0, self.pan[1]) + amp / 2)
        cx, cy = width / 2, height / 2
        px, py = 0.01 * width, 0.01 * height
        for z in zs:
            if cx + z * (content.x0 - cx) + xs[0] < px or cx + z * (content.x1 - cx) + xs[1] > width - px:
                return False
            if cy + z * (content.y0 - cy) + ys[0] < py or cy + z * (content.y1 - cy) + ys[1] > height - py:
                return False
        return True


@dataclass(frozen=True)
class _Reference:
    rgba: RGBA
    cutout: Cutout


class CompositorBackend:
    """Renders previews from the references on the CPU; see the module docstring."""

    name = "compositor"

    def __init__(self) -> None:
        self._masks: OrderedDict[str, Cutout] = OrderedDict()
        self._lock = threading.Lock()

    def load(self) -> None:
        """No weights to load; warm up instead, so a worker's first task costs what any other does.

        Runs every stage once on a tiny picture (image decoding, the cut-out's GrabCut and colour
        tables, the music, a frame): OpenCV builds its colour-conversion tables on first use (about
        0.1 s for Lab) and Python imports lazily. Leaves the cut-out cache empty.
        """
        _warm_up()

    def supports(self, kind: TaskKind) -> bool:
        return kind in (TaskKind.VIDEO, TaskKind.IMAGE)

    def close(self) -> None:
        with self._lock:
            self._masks.clear()

    def generate(
        self, job: GenerationJob, progress: ProgressFn, cancel: CancelToken
    ) -> VideoOutput | ImageOutput:
        if job.width <= 0 or job.height <= 0:
            raise ValueError(f"job size {job.width}x{job.height} is not positive")
        _check(cancel)
        with ThreadPoolExecutor(max_workers=1) as pool:
            # the music is made while the references are cut out (NumPy and OpenCV release the GIL)
            music = None
            if job.kind == TaskKind.VIDEO and job.bgm:
                samples = job.frame_count * SAMPLE_RATE // job.fps
                music = pool.submit(synthesize_music, samples, job.seed, SAMPLE_RATE)
            references = self.references(job.references)
            audio = music.result() if music is not None else None
        _check(cancel)
        scene = Scene(job, references, still=job.kind == TaskKind.IMAGE)
        if job.kind == TaskKind.IMAGE:
            image = scene.frame(0.0, 0.0)
            if not references:
                image = _draft_caption(image, job.prompt)
            progress(1, 1)
            return ImageOutput(image=image)
        return VideoOutput(
            frames=_frames(scene, job.frame_count, job.fps, progress, cancel),
            frame_count=job.frame_count,
            fps=job.fps,
            audio=audio,
            sample_rate=SAMPLE_RATE,
        )

    def references(self, paths: Sequence[Path]) -> list[_Reference]:
        """Load and cut out every reference (in parallel; cut-outs are cached by content)."""
        datas = [Path(p).read_bytes() for p in paths]
        if len(datas) <= 1:
            return [self._reference(d) for d in datas]
        with ThreadPoolExecutor(max_workers=min(4, len(datas))) as pool:  # OpenCV releases the GIL
            return list(pool.map(self._reference, datas))

    def _reference(self, data: bytes) -> _Reference:
        rgba = load_rgba(data)
        key = hashlib.sha256(data).hexdigest()
        with self._lock:
            cut = self._masks.get(key)
            if cut is not None:
                self._masks.move_to_end(key)
        if cut is None or cut.mask.shape != rgba.shape[:2]:
            cut = cut_out(rgba)
            with self._lock:
                self._masks[key] = cut
                while len(self._masks) > CACHE_SIZE:
                    self._masks.popitem(last=False)
        return _Reference(rgba, cut)


def _warm_up() -> None:
    h, w = 72, 64
    yy, xx = np.mgrid[0:h, 0:w]
    picture = np.zeros((h, w, 3), np.uint8)
    picture[...] = np.dstack([60 + xx, 90 + yy, np.full_like(xx, 140)]).astype(np.uint8)
    picture[((xx - w / 2) ** 2 + (yy - h / 2) ** 2) < (w / 4) ** 2] = (200, 60, 40)
    data = cv2.imencode(".png", cv2.cvtColor(picture, cv2.COLOR_RGB2BGR))[1].tobytes()
    rgba = load_rgba(data)
    job = GenerationJob(
        task_id="warm-up",
        kind=TaskKind.VIDEO,
        model="",
        prompt="",
        references=(),
        width=64,
        height=64,
        seed=0,
        duration=1,
    )
    Scene(job, [_Reference(rgba, cut_out(rgba))]).frame(0.5, 0.5)
    synthesize_music(SAMPLE_RATE // 10, 0, SAMPLE_RATE)


def _check(cancel: CancelToken) -> None:
    if cancel.is_cancelled():
        raise GenerationCancelled()


def _frames(scene: Scene, count: int, fps: int, progress: ProgressFn, cancel: CancelToken) -> Iterator[Frame]:
    """Yield the frames in order, rendered ``PREFETCH`` ahead in a thread while the reader encodes.

    OpenCV releases the GIL, so drawing the next frames overlaps with encoding this one; the queue
    is bounded, so at most ``PREFETCH`` + 1 frames exist at a time.
    """
    progress(0, count)
    frames: queue.Queue[tuple[int, Frame | BaseException]] = queue.Queue(maxsize=PREFETCH)
    stop = threading.Event()

    def render() -> None:
        try:
            for i in range(count):
                if stop.is_set():
                    return
                item: Frame | BaseException = scene.frame(i / max(1, count - 1), i / fps)
                while not stop.is_set():
                    try:
                        frames.put((i, item), timeout=0.1)
                        break
                    except queue.Full:
                        continue
        except BaseException as exc:  # handed to the reader, raised there
            frames.put((-1, exc))

    worker = threading.Thread(target=render, name="compositor-frames", daemon=True)
    worker.start()
    try:
        for i in range(count):
            _check(cancel)
            _, item = frames.get()
            if isinstance(item, BaseException):
                raise item
            yield item
            if (i + 1) % PROGRESS_EVERY == 0 or i + 1 == count:
                progress(i + 1, count)
    finally:
        stop.set()
        with contextlib.suppress(queue.Empty):
            while True:
                frames.get_nowait()
        worker.join()


class Scene:
    """Everything precomputed for one job; :meth:`frame` draws one frame, :meth:`boxes` says where
    each subject is. ``still`` scenes (images) have no camera margin and no motion."""

    def __init__(self, job: GenerationJob, references: Sequence[_Reference], *, still: bool = False) -> None:
        self.w, self.h = job.width, job.height
        self.still = still
        rng = np.random.default_rng([job.seed & 0xFFFFFFFF, 0xC0])
        self.factor = 0.0 if still else movement_factor(job.movement_amplitude, job.prompt)
        scenery = next((r for r in references if r.cutout.scenery), None)
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
        crops = [_crop(rgba, mask) for rgba, mask in subjects]
        boxes = layout_subjects([c.shape[1] / c.shape[0] for c in crops], self.w, self.h, rng)
        # leave the camera room to move: the more movement, the smaller the layout (about the centre)
        shrink = 1 / (1 + CAMERA_ROOM * self.factor)
        boxes = [_scale_box(b, shrink, self.w / 2, self.h / 2) for b in boxes]
        self.layers = [
            _make_layer(c, b, self.factor, i, rng, self.h)
            for i, (c, b) in enumerate(zip(crops, boxes, strict=True))
        ]
        for layer, cell in zip(self.layers, motion_room(boxes, self.w, self.h), strict=True):
            _fit_motion(layer, cell)
        self.camera = self._camera(rng)
        self.backdrop = self._backdrop(job, scenery, palette, boxes, rng)

    # ------------------------------------------------------------ set-up

    def _camera(self, rng: np.random.Generator) -> _Camera:
        angle = rng.uniform(0, 2 * math.pi)
        pan = 0.03 * self.factor * self.w
        zoom_delta = 0.035 * self.factor
        zoom = (1.0, 1.0 + zoom_delta) if rng.random() < 0.65 else (1.0 + zoom_delta, 1.0)
        camera = _Camera(
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
        scenery: _Reference | None,
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
            _draw_layer(out, layer.pixels, layer.layer_matrix(t, cam, centre))
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


def _draw_layer(out: Frame, pixels: RGBA, m: npt.NDArray[np.float64]) -> None:
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


# ---------------------------------------------------------------- subjects


def _make_layer(crop: RGBA, box: Box, factor: float, i: int, rng: np.random.Generator, height: int) -> _Layer:
    pixels, anchor, pixel_height = _prepare_layer(crop, box.height)
    return _Layer(
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


def _fit_motion(layer: _Layer, cell: Box) -> None:
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


def _crop(rgba: RGBA, mask: npt.NDArray[np.uint8]) -> RGBA:
    """The subject's bounding box with the mask as alpha."""
    ys, xs = np.nonzero(mask > 24)
    h, w = mask.shape
    if len(xs) == 0:
        y0, y1, x0, x1 = 0, h, 0, w
    else:
        y0, y1 = int(ys.min()), int(ys.max()) + 1
        x0, x1 = int(xs.min()), int(xs.max()) + 1
    out = rgba[y0:y1, x0:x1].copy()
    out[..., 3] = mask[y0:y1, x0:x1]
    return out


def _prepare_layer(crop: RGBA, height: float) -> tuple[RGBA, tuple[float, float], float]:
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


def _draft_caption(image: Frame, prompt: str) -> Frame:
    """Mark a text-only image as a draft: a small caption with the prompt's first words."""
    h, w = image.shape[:2]
    text = " ".join(prompt.split())
    text = "draft · " + (text[:48] + "…" if len(text) > 48 else text)
    size = max(12, round(min(w, h) * 0.036))
    font = ImageFont.load_default(size=size)
    pil = Image.fromarray(image)
    overlay = Image.new("RGBA", pil.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    pad = size // 2
    x, y = round(w * 0.03), h - round(h * 0.03) - (bottom - top) - 2 * pad
    draw.rounded_rectangle(
        (x, y, x + right - left + 2 * pad, y + bottom - top + 2 * pad), radius=pad, fill=(0, 0, 0, 110)
    )
    draw.text((x + pad - left, y + pad - top), text, font=font, fill=(255, 255, 255, 230))
    out = Image.alpha_composite(pil.convert("RGBA"), overlay).convert("RGB")
    return np.asarray(out, dtype=np.uint8).copy()
