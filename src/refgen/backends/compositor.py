"""The ``compositor`` backend: a deterministic CPU renderer built from the references, no model.

Each reference becomes a subject layer (its own alpha, else a GrabCut cut-out, see
:mod:`refgen.media.cutout`) with a soft drop shadow. Subjects are laid out in the order given, in
rows chosen to fill the frame without covering each other, over a backdrop painted from the
references' palette (a seeded gradient plus large blurred shapes). Videos move a seeded slow camera
(pan and zoom, eased; the backdrop moves half as much, for parallax) and give every subject a gentle
bob and sway; all of it scales with ``movement_amplitude``. With no references an image job gets a
seeded landscape whose palette comes from the prompt's colour words: plainly a draft.

Rendering is vectorised OpenCV on uint8 (``warpAffine`` of premultiplied layers into their small
regions of the frame), so a 1080p frame costs less than encoding it. Frames are made lazily, one at a
time, as the stream is read. Same job and seed → identical frames.
"""

from __future__ import annotations

import hashlib
import math
import re
import threading
from collections import OrderedDict
from collections.abc import Iterator
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
from refgen.media.cutout import Mask, subject_mask
from refgen.media.images import load_rgba
from refgen.media.music import synthesize_music

RGBA = npt.NDArray[np.uint8]
Color = tuple[int, int, int]

AMPLITUDES = {"small": 0.4, "medium": 1.0, "large": 2.0}
SAMPLE_RATE = 48_000
PROGRESS_EVERY = 6  # frames
BACKDROP_MARGIN = 1.2  # the backdrop is this much larger than the frame, room for the camera
BACKDROP_SCALE = 4  # videos move the backdrop at this fraction of the frame size
MASK_CACHE_SIZE = 64

_ACTION = re.compile(
    r"\b(run\w*|ran|jump\w*|danc\w*|fl(y|ies|ying|ew)|rac(e|es|ing)|chas\w*|fight\w*|spin\w*|leap\w*|sprint\w*|"
    r"kick\w*|throw\w*|gallop\w*|rush\w*|swing\w*|surf\w*|ski\w*|explod\w*|bounc\w*|somersault\w*|battle\w*)\b",
    re.IGNORECASE,
)
_CALM = re.compile(
    r"\b(calm\w*|still|gentl\w*|quiet\w*|sleep\w*|slow\w*|rest\w*|sit\w*|peace\w*|seren\w*|portrait\w*|"
    r"meditat\w*|relax\w*|static|idle|tranquil\w*|softly)\b",
    re.IGNORECASE,
)
_COLOR_WORDS: dict[str, Color] = {
    "red": (200, 40, 45),
    "orange": (240, 140, 40),
    "yellow": (245, 210, 60),
    "gold": (220, 175, 55),
    "green": (60, 160, 80),
    "forest": (35, 95, 55),
    "teal": (40, 150, 150),
    "cyan": (70, 200, 220),
    "blue": (50, 100, 200),
    "ocean": (30, 90, 150),
    "sea": (40, 120, 170),
    "sky": (120, 180, 235),
    "navy": (25, 40, 100),
    "purple": (120, 60, 170),
    "violet": (140, 90, 200),
    "pink": (235, 120, 170),
    "magenta": (200, 50, 160),
    "brown": (120, 80, 45),
    "white": (240, 240, 235),
    "snow": (235, 240, 248),
    "grey": (130, 130, 135),
    "gray": (130, 130, 135),
    "black": (25, 25, 30),
    "night": (20, 25, 60),
    "sunset": (245, 120, 70),
    "desert": (220, 180, 120),
    "grass": (90, 170, 70),
    "fire": (230, 80, 30),
    "lake": (60, 120, 160),
}


def movement_factor(amplitude: str, prompt: str) -> float:
    """How much things move: small < medium < large; ``auto`` reads the prompt's verbs."""
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

    pixels: RGBA  # premultiplied RGBA at its base size
    anchor: tuple[float, float]  # bottom centre of the subject, in layer pixels
    position: tuple[float, float]  # where the anchor goes in the frame at rest
    bob: float  # px
    sway: float  # degrees
    breathe: float  # relative scale
    freq: tuple[float, float, float]  # Hz: bob, sway, breathe
    phase: tuple[float, float, float]


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
        wobble = amp * math.sin(2 * math.pi * freq * t + phase)
        return z, self.pan[0] * (e - 0.5) + wobble, self.pan[1] * (e - 0.5) + 0.5 * wobble


class CompositorBackend:
    """Renders previews from the references on the CPU; see the module docstring."""

    name = "compositor"

    def __init__(self) -> None:
        self._masks: OrderedDict[str, Mask] = OrderedDict()
        self._lock = threading.Lock()

    def load(self) -> None:
        """Nothing to load: OpenCV and NumPy are all it needs."""

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
        rng = np.random.default_rng([job.seed & 0xFFFFFFFF, 0xC0])
        subjects = []
        for path in job.references:
            _check(cancel)
            subjects.append(self._subject(path))
        _check(cancel)
        palette = _palette(subjects, rng) if subjects else _prompt_palette(job.prompt, job.seed)
        factor = movement_factor(job.movement_amplitude, job.prompt)
        if job.kind == TaskKind.IMAGE:
            scene = _Scene(job.width, job.height, subjects, palette, factor, rng, margin=1.0)
            image = scene.frame(0.0, 0.0)
            if not subjects:
                image = _draft_caption(image, job.prompt)
            progress(1, 1)
            return ImageOutput(image=image)
        scene = _Scene(job.width, job.height, subjects, palette, factor, rng, margin=BACKDROP_MARGIN)
        audio = None
        if job.bgm:
            audio = synthesize_music(job.frame_count * SAMPLE_RATE // job.fps, job.seed, SAMPLE_RATE)
        return VideoOutput(
            frames=_frames(scene, job.frame_count, job.fps, progress, cancel),
            frame_count=job.frame_count,
            fps=job.fps,
            audio=audio,
            sample_rate=SAMPLE_RATE,
        )

    def _subject(self, path: Path) -> tuple[RGBA, Mask]:
        data = Path(path).read_bytes()
        rgba = load_rgba(data)
        key = hashlib.sha256(data).hexdigest()
        with self._lock:
            mask = self._masks.get(key)
            if mask is not None:
                self._masks.move_to_end(key)
        if mask is None or mask.shape != rgba.shape[:2]:
            mask = subject_mask(rgba)
            with self._lock:
                self._masks[key] = mask
                while len(self._masks) > MASK_CACHE_SIZE:
                    self._masks.popitem(last=False)
        return rgba, mask


def _check(cancel: CancelToken) -> None:
    if cancel.is_cancelled():
        raise GenerationCancelled()


def _frames(
    scene: _Scene, count: int, fps: int, progress: ProgressFn, cancel: CancelToken
) -> Iterator[Frame]:
    progress(0, count)
    for i in range(count):
        _check(cancel)
        yield scene.frame(i / max(1, count - 1), i / fps)
        if (i + 1) % PROGRESS_EVERY == 0 or i + 1 == count:
            progress(i + 1, count)


class _Scene:
    """Everything precomputed for one job; ``frame(u, t)`` draws one frame."""

    def __init__(
        self,
        width: int,
        height: int,
        subjects: list[tuple[RGBA, Mask]],
        palette: list[Color],
        factor: float,
        rng: np.random.Generator,
        *,
        margin: float,
    ) -> None:
        self.w, self.h = width, height
        self.still = margin <= 1.0
        bw, bh = math.ceil(width * margin), math.ceil(height * margin)
        paint = _backdrop if subjects else _landscape
        backdrop = paint(bw, bh, palette, rng)
        # Videos warp the (smooth) backdrop at 1/BACKDROP_SCALE size and upscale it: a full-size warp
        # would cost more than everything else in the frame. Stills use it as it is.
        self.scale = 1 if self.still else BACKDROP_SCALE
        self.small_size = (max(2, math.ceil(width / self.scale)), max(2, math.ceil(height / self.scale)))
        if self.scale > 1:
            size = (max(2, round(bw / self.scale)), max(2, round(bh / self.scale)))
            backdrop = np.asarray(cv2.resize(backdrop, size, interpolation=cv2.INTER_AREA), dtype=np.uint8)
        self.backdrop = np.asarray(backdrop, dtype=np.uint8)
        self.bcenter = (self.backdrop.shape[1] / 2, self.backdrop.shape[0] / 2)
        room = (margin - 1) / 2  # fraction of the frame the backdrop may slide
        angle = rng.uniform(0, 2 * math.pi)
        pan = min(0.035 * factor, room * 0.9) * width
        zoom_delta = 0.04 * factor * (1 if rng.random() < 0.65 else -1)
        z0 = 1.0 if zoom_delta > 0 else 1.0 - zoom_delta
        self.camera = _Camera(
            zoom=(z0, z0 + zoom_delta),
            pan=(pan * math.cos(angle), pan * math.sin(angle) * 0.5),
            drift=(
                0.004 * factor * width,
                float(rng.uniform(0.08, 0.16)),
                float(rng.uniform(0, 2 * math.pi)),
            ),
        )
        self.layers = _layout_layers(subjects, width, height, factor, rng)
        self.parallax = 0.5

    def frame(self, u: float, t: float) -> Frame:
        z, tx, ty = (1.0, 0.0, 0.0) if self.still else self.camera.at(u, t)
        # backdrop: moves half as much as the subjects, and always covers the frame
        if self.still:
            out = self.backdrop.copy()
        else:
            k = 1 / self.scale
            zb = 1 + (z - 1) * self.parallax
            bx, by = self.bcenter
            sw, sh = self.small_size
            m = np.array(
                [
                    [zb, 0, sw / 2 - zb * bx + tx * self.parallax * k],
                    [0, zb, sh / 2 - zb * by + ty * self.parallax * k],
                ],
                np.float64,
            )
            small = cv2.warpAffine(
                self.backdrop, m, (sw, sh), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
            )
            out = np.asarray(
                cv2.resize(small, (self.w, self.h), interpolation=cv2.INTER_LINEAR), dtype=np.uint8
            )
        for layer in self.layers:
            self._draw(out, layer, z, tx, ty, t)
        return np.asarray(out, dtype=np.uint8)

    def _draw(self, out: Frame, layer: _Layer, z: float, tx: float, ty: float, t: float) -> None:
        fb, fs, fr = layer.freq
        pb, ps, pr = layer.phase
        # every motion starts from rest at t = 0 (so the first frame is the still layout) and stays smooth
        dy = layer.bob * (math.sin(2 * math.pi * fb * t + pb) - math.sin(pb))
        theta = math.radians(layer.sway * (math.sin(2 * math.pi * fs * t + ps) - math.sin(ps)))
        s = 1 + layer.breathe * (math.sin(2 * math.pi * fr * t + pr) - math.sin(pr))
        ax, ay = layer.anchor
        px, py = layer.position
        cos, sin = math.cos(theta) * s * z, math.sin(theta) * s * z
        cx, cy = self.w / 2, self.h / 2
        # layer pixel q -> c + z * (position + R s (q - anchor) + (0, dy) - c) + (tx, ty)
        ox = cx + z * (px - cx) + tx
        oy = cy + z * (py + dy - cy) + ty
        m = np.array(
            [[cos, -sin, ox - cos * ax + sin * ay], [sin, cos, oy - sin * ax - cos * ay]], np.float64
        )
        lh, lw = layer.pixels.shape[:2]
        corners = np.array([[0, 0, 1], [lw, 0, 1], [0, lh, 1], [lw, lh, 1]], np.float64) @ m.T
        x0 = max(0, math.floor(corners[:, 0].min()))
        y0 = max(0, math.floor(corners[:, 1].min()))
        x1 = min(self.w, math.ceil(corners[:, 0].max()) + 1)
        y1 = min(self.h, math.ceil(corners[:, 1].max()) + 1)
        if x1 <= x0 or y1 <= y0:
            return
        m[0, 2] -= x0
        m[1, 2] -= y0
        warped = cv2.warpAffine(
            layer.pixels, m, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT
        )
        rgb = cv2.cvtColor(warped, cv2.COLOR_RGBA2RGB)
        inv = cv2.cvtColor(cv2.bitwise_not(cv2.extractChannel(warped, 3)), cv2.COLOR_GRAY2RGB)
        roi = out[y0:y1, x0:x1]
        roi[...] = cv2.add(cv2.multiply(roi, inv, scale=1 / 255), rgb)


# ---------------------------------------------------------------- layout


def _layout_layers(
    subjects: list[tuple[RGBA, Mask]], width: int, height: int, factor: float, rng: np.random.Generator
) -> list[_Layer]:
    crops = [_crop(rgba, mask) for rgba, mask in subjects]
    if not crops:
        return []
    aspects = [c.shape[1] / c.shape[0] for c in crops]
    boxes = _layout(aspects, width, height, rng)
    layers = []
    sway_phase = float(rng.uniform(0, 2 * math.pi))
    for i, (crop, (cx, bottom, h)) in enumerate(zip(crops, boxes, strict=True)):
        pixels, anchor = _prepare_layer(crop, h)
        layers.append(
            _Layer(
                pixels=pixels,
                anchor=anchor,
                position=(cx, bottom),
                bob=0.012 * factor * height * float(rng.uniform(0.7, 1.2)),
                sway=1.6 * factor * float(rng.uniform(0.7, 1.2)),
                breathe=0.008 * factor,
                freq=(
                    float(rng.uniform(0.35, 0.6)),
                    float(rng.uniform(0.25, 0.45)),
                    float(rng.uniform(0.2, 0.4)),
                ),
                phase=(
                    float(rng.uniform(0, 2 * math.pi)),
                    sway_phase + 0.6 * i + float(rng.uniform(-0.3, 0.3)),
                    float(rng.uniform(0, 2 * math.pi)),
                ),
            )
        )
    return layers


def _layout(
    aspects: list[float], width: int, height: int, rng: np.random.Generator
) -> list[tuple[float, float, float]]:
    """For each subject (width/height ratio): (centre x, bottom y, height) in frame pixels.

    Tries every row count, rows filled in the order given, every subject in a row the same height;
    keeps the arrangement with the most subject area. Seeded scale and offsets vary it within the
    slack, never into a neighbour.
    """
    n = len(aspects)
    left, right, top, bottom = 0.06 * width, 0.94 * width, 0.08 * height, 0.94 * height
    safe_w, safe_h = right - left, bottom - top
    gap_x, gap_y = 0.06 * width, 0.05 * height
    best: tuple[float, list[list[int]], list[float]] | None = None
    for rows in range(1, n + 1):
        per_row = [n // rows + (1 if r < n % rows else 0) for r in range(rows)]
        groups, start = [], 0
        for k in per_row:
            groups.append(list(range(start, start + k)))
            start += k
        row_h = (safe_h - (rows - 1) * gap_y) / rows
        heights = [min(row_h, (safe_w - (len(g) - 1) * gap_x) / sum(aspects[i] for i in g)) for g in groups]
        area = sum(heights[r] ** 2 * aspects[i] for r, g in enumerate(groups) for i in g)
        if best is None or area > best[0] * 1.02:
            best = (area, groups, heights)
    assert best is not None
    _, groups, heights = best
    used_h = sum(heights)
    spare_y = (safe_h - used_h) / (len(groups) + 1)
    boxes: list[tuple[float, float, float]] = [(0.0, 0.0, 0.0)] * n
    y = top
    for g, h in zip(groups, heights, strict=True):
        y += spare_y + h
        widths = [h * aspects[i] for i in g]
        spare_x = (safe_w - sum(widths)) / (len(g) + 1)
        x = left
        for i, wi in zip(g, widths, strict=True):
            x += spare_x
            scale = float(rng.uniform(0.86, 0.97))
            jitter_x = float(rng.uniform(-0.5, 0.5)) * (wi * (1 - scale) + spare_x * 0.5)
            lift = float(rng.uniform(0, 0.5)) * h * (1 - scale)
            boxes[i] = (x + wi / 2 + jitter_x, y - lift, h * scale)
            x += wi
        y += gap_y if len(groups) > 1 else 0
    return boxes


def _crop(rgba: RGBA, mask: Mask) -> RGBA:
    """The subject's bounding box (a little margin kept) with the mask as alpha."""
    ys, xs = np.nonzero(mask > 12)
    h, w = mask.shape
    if len(xs) == 0:
        y0, y1, x0, x1 = 0, h, 0, w
    else:
        pad = round(0.02 * max(h, w))
        y0, y1 = max(0, int(ys.min()) - pad), min(h, int(ys.max()) + pad + 1)
        x0, x1 = max(0, int(xs.min()) - pad), min(w, int(xs.max()) + pad + 1)
    out = rgba[y0:y1, x0:x1].copy()
    out[..., 3] = mask[y0:y1, x0:x1]
    return out


def _prepare_layer(crop: RGBA, height: float) -> tuple[RGBA, tuple[float, float]]:
    """Scale a cut-out to ``height`` px, premultiply, bake in a soft drop shadow; return the anchor."""
    ch, cw = crop.shape[:2]
    scale = max(1e-3, height / ch)
    size = (max(2, round(cw * scale)), max(2, round(height)))
    alpha = crop[..., 3:4].astype(np.float32) / 255
    premult = np.concatenate([crop[..., :3].astype(np.float32) * alpha, alpha * 255], axis=2)
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    sub = cv2.resize(premult, size, interpolation=interp)
    sh, sw = sub.shape[:2]
    pad_x, pad_top, pad_bottom = round(0.08 * sw) + 4, 4, round(0.08 * sh) + 4
    canvas = np.zeros((sh + pad_top + pad_bottom, sw + 2 * pad_x, 4), np.float32)
    canvas[pad_top : pad_top + sh, pad_x : pad_x + sw] = sub
    a_sub = canvas[..., 3] / 255
    off_x, off_y = 0.025 * sh, 0.03 * sh
    shift = np.array([[1, 0, off_x], [0, 1, off_y]], np.float64)
    shadow = cv2.warpAffine(a_sub, shift, (a_sub.shape[1], a_sub.shape[0]), borderMode=cv2.BORDER_CONSTANT)
    shadow = cv2.GaussianBlur(shadow, (0, 0), max(1.0, 0.025 * sh)) * 0.35
    alpha_out = a_sub + shadow * (1 - a_sub)
    canvas[..., 3] = alpha_out * 255
    pixels = np.clip(canvas + 0.5, 0, 255).astype(np.uint8)
    return pixels, (pad_x + sw / 2, pad_top + sh)


# ---------------------------------------------------------------- colour and backdrops


def _palette(subjects: list[tuple[RGBA, Mask]], rng: np.random.Generator, k: int = 5) -> list[Color]:
    """The references' main colours, most common first (seeded k-means on a pixel sample)."""
    samples = []
    for rgba, mask in subjects:
        small = cv2.resize(rgba, (64, 64), interpolation=cv2.INTER_AREA)
        m = cv2.resize(mask, (64, 64), interpolation=cv2.INTER_AREA).reshape(-1)
        px = small[..., :3].reshape(-1, 3).astype(np.float32)
        subject_px = px[m > 128]
        samples.append(subject_px if len(subject_px) >= 64 else px)
    points = np.concatenate(samples)
    k = min(k, len(points))
    centres = points[rng.choice(len(points), size=k, replace=False)]
    labels = np.zeros(len(points), np.int64)
    for _ in range(10):
        dist = ((points[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2)
        labels = dist.argmin(axis=1)
        for c in range(k):
            members = points[labels == c]
            if len(members):
                centres[c] = members.mean(axis=0)
    counts = np.bincount(labels, minlength=k)
    order = np.argsort(-counts, kind="stable")
    return [(int(centres[c][0]), int(centres[c][1]), int(centres[c][2])) for c in order]


def _prompt_palette(prompt: str, seed: int) -> list[Color]:
    """Colours named in the prompt, else hues picked from a hash of its words (and the seed)."""
    words = re.findall(r"[a-z]+", prompt.lower())
    named = [_COLOR_WORDS[w] for w in words if w in _COLOR_WORDS]
    digest = hashlib.sha256((" ".join(words) + f"#{seed}").encode()).digest()
    colors: list[Color] = list(dict.fromkeys(named))
    i = 0
    while len(colors) < 5:
        hue = digest[i % len(digest)] / 255 * 179
        sat = 90 + digest[(i + 7) % len(digest)] % 120
        val = 120 + digest[(i + 13) % len(digest)] % 120
        hsv = np.array([[[hue, sat, val]]], np.uint8)
        r, g, b = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)[0, 0]
        colors.append((int(r), int(g), int(b)))
        i += 1
    return colors


def _soften(color: Color, amount: float, toward: float = 235.0) -> npt.NDArray[np.float32]:
    c = np.array(color, np.float32)
    return c * (1 - amount) + toward * amount


def _backdrop(width: int, height: int, palette: list[Color], rng: np.random.Generator) -> Frame:
    """A seeded soft gradient with large blurred shapes in the palette, painted small and upscaled."""
    sw, sh = max(8, width // 8), max(8, height // 8)
    angle = rng.uniform(0, 2 * math.pi)
    yy, xx = np.mgrid[0:sh, 0:sw].astype(np.float32)
    proj = (xx / sw - 0.5) * math.cos(angle) + (yy / sh - 0.5) * math.sin(angle)
    g = np.clip(proj + 0.5, 0, 1)[..., None]
    c0 = _soften(palette[min(1, len(palette) - 1)], 0.55)
    c1 = _soften(palette[min(2, len(palette) - 1)], 0.35, toward=60.0)
    img = c0 * (1 - g) + c1 * g
    for _ in range(int(rng.integers(5, 9))):
        color = _soften(palette[int(rng.integers(len(palette)))], float(rng.uniform(0.2, 0.5)))
        layer = np.zeros((sh, sw), np.float32)
        center = (int(rng.uniform(0, sw)), int(rng.uniform(0, sh)))
        axes = (int(rng.uniform(0.1, 0.35) * sw) + 1, int(rng.uniform(0.1, 0.35) * sh) + 1)
        cv2.ellipse(layer, center, axes, float(rng.uniform(0, 180)), 0, 360, 1.0, -1)
        layer = cv2.GaussianBlur(layer, (0, 0), max(1.0, 0.06 * sw)) * float(rng.uniform(0.3, 0.6))
        img = img * (1 - layer[..., None]) + color * layer[..., None]
    # vignette
    r = np.sqrt(((xx / sw - 0.5) * 1.2) ** 2 + (yy / sh - 0.5) ** 2)
    img *= (1 - 0.25 * np.clip(r - 0.2, 0, 1))[..., None]
    small = np.clip(img, 0, 255).astype(np.uint8)
    return np.asarray(cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC), dtype=np.uint8)


def _landscape(width: int, height: int, palette: list[Color], rng: np.random.Generator) -> Frame:
    """A seeded draft scene for prompts without references: sky, a sun, layered hills."""
    k = max(2.0, max(width, height) / 960)  # paint at most ~960 px wide, then upscale
    sw, sh = max(16, round(width / k)), max(16, round(height / k))
    yy = np.linspace(0, 1, sh, dtype=np.float32)[:, None, None]
    top = _soften(palette[0], 0.3, toward=40.0)
    horizon = _soften(palette[1 % len(palette)], 0.55)
    img = np.broadcast_to(top * (1 - yy) + horizon * yy, (sh, sw, 3)).copy()
    sun = np.zeros((sh, sw), np.float32)
    sx, sy, sr = int(rng.uniform(0.2, 0.8) * sw), int(rng.uniform(0.15, 0.4) * sh), max(2, int(0.08 * sh))
    cv2.circle(sun, (sx, sy), sr, 1.0, -1)
    glow = cv2.GaussianBlur(sun, (0, 0), sr * 1.5)
    sun_c = _soften(palette[2 % len(palette)], 0.5, toward=255.0)
    for layer, strength in ((glow, 0.6), (cv2.GaussianBlur(sun, (0, 0), 1.0), 1.0)):
        a = np.clip(layer * strength, 0, 1)[..., None]
        img = img * (1 - a) + sun_c * a
    xs = np.linspace(0, 1, sw, dtype=np.float32)
    for i in range(3):
        base = 0.55 + 0.13 * i
        ridge = base + sum(
            float(rng.uniform(0.02, 0.06))
            / (j + 1)
            * np.sin(2 * np.pi * (j + 1) * xs * rng.uniform(0.6, 1.4) + rng.uniform(0, 6.3))
            for j in range(3)
        )
        # a soft one-pixel edge: anti-aliased at paint size, smooth after the upscale
        depth = (np.arange(sh, dtype=np.float32)[:, None] - ridge[None, :] * sh) / 1.2
        fill = np.clip(depth + 0.5, 0, 1)[..., None]
        color = _soften(palette[(3 + i) % len(palette)], 0.1, toward=20.0 + 30 * i) * (0.9 - 0.15 * i)
        img = img * (1 - fill) + color * fill
    small = np.clip(img, 0, 255).astype(np.uint8)
    return np.asarray(cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC), dtype=np.uint8)


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
