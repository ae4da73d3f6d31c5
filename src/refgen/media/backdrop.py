"""Backdrops for the compositor: palettes, a seeded studio backdrop, a draft landscape, scenery fitting.

- :func:`subject_palette`: the references' main colours (seeded k-means on the subjects' pixels).
- :func:`prompt_palette`: colours named in a prompt, else hues drawn from a hash of its words.
- :func:`studio_backdrop`: a wall and a floor in colours that set the subjects off (a hue turned from
  theirs), a soft key light, out-of-focus discs in the palette and a vignette. Painted small (it is
  smooth) and returned at the size asked.
- :func:`draft_scene`: for a prompt with no references: sky, sun or moon and stars, hills or water,
  composition chosen from the prompt's words. Plainly a draft. :func:`draft_layers` paints the same
  scene as planes, far to near, for a camera to move over with parallax.
- :func:`cover`: a scenery reference scaled to cover a size and centre-cropped, never stretched.

All of them are deterministic for a given generator state.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

RGB = npt.NDArray[np.uint8]
Color = tuple[int, int, int]

_COLOR_WORDS: dict[str, Color] = {
    "red": (200, 40, 45),
    "orange": (240, 140, 40),
    "yellow": (245, 210, 60),
    "gold": (220, 175, 55),
    "golden": (220, 175, 55),
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
    "dawn": (240, 170, 130),
    "desert": (220, 180, 120),
    "sand": (225, 200, 150),
    "grass": (90, 170, 70),
    "fire": (230, 80, 30),
    "lake": (60, 120, 160),
}
_WATER = {"sea", "ocean", "lake", "beach", "water", "river", "bay", "coast", "harbor", "harbour", "waves"}
_NIGHT = {"night", "star", "stars", "starry", "moon", "moonlit", "space", "galaxy", "midnight", "dark"}


def subject_palette(
    pixels: Sequence[tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint8]]],
    rng: np.random.Generator,
    k: int = 5,
) -> list[Color]:
    """The main colours of ``(rgba, mask)`` pairs, most common first (seeded k-means on a sample)."""
    samples = []
    for rgba, mask in pixels:
        step = max(1, min(mask.shape) // 512)  # every step-th pixel of a large picture is plenty here
        small = cv2.resize(rgba[::step, ::step], (64, 64), interpolation=cv2.INTER_AREA)
        m = cv2.resize(mask[::step, ::step], (64, 64), interpolation=cv2.INTER_AREA).reshape(-1)
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


def prompt_words(prompt: str) -> list[str]:
    return re.findall(r"[a-z]+", prompt.lower())


def prompt_palette(prompt: str, seed: int) -> list[Color]:
    """Colours named in the prompt, else hues picked from a hash of its words (and the seed)."""
    words = prompt_words(prompt)
    named = [_COLOR_WORDS[w] for w in words if w in _COLOR_WORDS]
    digest = hashlib.sha256((" ".join(words) + f"#{seed}").encode()).digest()
    colors: list[Color] = list(dict.fromkeys(named))
    i = 0
    while len(colors) < 5:
        hue = digest[i % len(digest)] / 255 * 179
        sat = 90 + digest[(i + 7) % len(digest)] % 120
        val = 120 + digest[(i + 13) % len(digest)] % 120
        colors.append(_hsv(hue, sat, val))
        i += 1
    return colors


def _hsv(h: float, s: float, v: float) -> Color:
    """OpenCV HSV (h in 0..180, s and v in 0..255) to RGB."""
    hsv = np.array([[[h % 180, np.clip(s, 0, 255), np.clip(v, 0, 255)]]], np.uint8)
    r, g, b = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)[0, 0]
    return int(r), int(g), int(b)


def _to_hsv(color: Color) -> tuple[float, float, float]:
    h, s, v = cv2.cvtColor(np.array([[color]], np.uint8), cv2.COLOR_RGB2HSV)[0, 0]
    return float(h), float(s), float(v)


def _soften(color: Color, amount: float, toward: float = 235.0) -> npt.NDArray[np.float32]:
    c = np.array(color, np.float32)
    return c * (1 - amount) + toward * amount


def studio_backdrop(
    width: int, height: int, palette: Sequence[Color], rng: np.random.Generator, *, horizon: float = 0.66
) -> RGB:
    """A seeded wall-and-floor backdrop in colours that set ``palette`` off; smooth, painted small.

    ``horizon`` is where the wall meets the floor, as a fraction of the height.
    """
    sw, sh = max(16, width // 8), max(16, height // 8)
    # the wall's hue: turned from the subjects' most saturated colour (mostly to its complement)
    vivid = max(palette[:3], key=lambda c: _to_hsv(c)[1] * (0.4 + _to_hsv(c)[2] / 255))
    hue, sat, _ = _to_hsv(vivid)
    turn = float(rng.choice([75.0, 90.0, 90.0, 105.0, 15.0, -15.0]))  # OpenCV hue: 90 = opposite
    wall_hue = hue + turn
    wall_sat = float(np.clip(sat * 0.45, 35, 110)) * float(rng.uniform(0.8, 1.1))
    wall_val = float(rng.uniform(150, 200))
    wall_top = np.array(_hsv(wall_hue, wall_sat * 0.8, wall_val + 25), np.float32)
    wall_low = np.array(_hsv(wall_hue + 4, wall_sat, wall_val - 15), np.float32)
    floor_near = np.array(_hsv(wall_hue - 3, wall_sat * 0.9, wall_val * 0.52), np.float32)
    floor_far = np.array(_hsv(wall_hue, wall_sat * 0.85, wall_val * 0.78), np.float32)

    yy, xx = np.mgrid[0:sh, 0:sw].astype(np.float32)
    v = yy / (sh - 1)
    u = xx / (sw - 1)
    wall_t = np.clip(v / horizon, 0, 1)[..., None]
    wall = wall_top * (1 - wall_t) + wall_low * wall_t
    floor_t = np.clip((v - horizon) / max(1e-3, 1 - horizon), 0, 1)[..., None]
    floor = floor_far * (1 - floor_t) + floor_near * floor_t
    edge = np.clip((v - horizon) * sh / 1.5 + 0.5, 0, 1)[..., None]
    img = wall * (1 - edge) + floor * edge
    # out-of-focus discs on the wall, in the palette's colours made light
    for _ in range(int(rng.integers(7, 12))):
        color = _soften(palette[int(rng.integers(len(palette)))], float(rng.uniform(0.35, 0.6)), 245.0)
        layer = np.zeros((sh, sw), np.float32)
        r = float(rng.uniform(0.03, 0.11)) * max(sw, sh)
        center = (int(rng.uniform(0, sw)), int(rng.uniform(0, horizon * sh * 0.95)))
        cv2.circle(layer, center, max(1, round(r)), 1.0, -1, lineType=cv2.LINE_AA)
        layer = cv2.GaussianBlur(layer, (0, 0), max(0.8, r * 0.25)) * float(rng.uniform(0.12, 0.3))
        img = img * (1 - layer[..., None]) + color * layer[..., None]
    # a soft key light behind the subjects and a vignette
    lx, ly = float(rng.uniform(0.35, 0.65)), float(rng.uniform(0.25, 0.45))
    light = np.exp(-(((u - lx) * 1.4) ** 2 + ((v - ly) * 1.8) ** 2) / 0.18)
    img = img * (0.86 + 0.26 * light[..., None])
    r = np.sqrt(((u - 0.5) * 1.3) ** 2 + ((v - 0.5) * 1.1) ** 2)
    img *= (1 - 0.35 * np.clip(r - 0.3, 0, 1) ** 1.2)[..., None]
    small = np.clip(img, 0, 255).astype(np.uint8)
    return np.asarray(cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC), dtype=np.uint8)


@dataclass(frozen=True)
class DraftLayer:
    """One plane of a draft scene, far to near: straight colour, coverage (None: opaque), depth.

    ``depth`` is how much of a camera's motion the plane takes (0 the horizon … 1 the nearest).
    """

    color: npt.NDArray[np.float32]  # (h, w, 3), 0..255
    alpha: npt.NDArray[np.float32] | None  # (h, w), 0..1
    depth: float


def draft_scene(
    width: int, height: int, prompt: str, palette: Sequence[Color], rng: np.random.Generator
) -> RGB:
    """A seeded draft scene for a prompt without references: composition and colours from its words."""
    k = max(2.0, max(width, height) / 960)  # paint at most ~960 px wide, then upscale
    sw, sh = max(16, round(width / k)), max(16, round(height / k))
    img, _ = draft_layers(sw, sh, prompt, palette, rng)
    small = np.clip(img, 0, 255).astype(np.uint8)
    return np.asarray(cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC), dtype=np.uint8)


def draft_layers(
    sw: int, sh: int, prompt: str, palette: Sequence[Color], rng: np.random.Generator
) -> tuple[npt.NDArray[np.float32], list[DraftLayer]]:
    """Paint a draft scene at ``sw`` × ``sh``: the flat picture (float) and its planes, far to near.

    Sky (with stars), the sun's or moon's glow and disc, two or three hills, and water that mirrors
    what is above it; composition and colours from the prompt's words.
    """
    words = set(prompt_words(prompt))
    night = bool(words & _NIGHT)
    water = bool(words & _WATER)
    layers: list[DraftLayer] = []
    yy = np.linspace(0, 1, sh, dtype=np.float32)[:, None, None]
    if night:
        top, horizon_c = np.array((8, 10, 30), np.float32), _soften(palette[0], 0.35, toward=40.0)
    else:
        top, horizon_c = _soften(palette[0], 0.3, toward=40.0), _soften(palette[1 % len(palette)], 0.55)
    img = np.broadcast_to(top * (1 - yy) + horizon_c * yy, (sh, sw, 3)).copy()
    if night:
        stars = rng.random((sh, sw)) > 0.9975
        img[stars & (yy[..., 0] < 0.6)] = (235, 235, 245)
    layers.append(DraftLayer(img.copy(), None, 0.15))
    disc = np.zeros((sh, sw), np.float32)
    sx, sy, sr = int(rng.uniform(0.2, 0.8) * sw), int(rng.uniform(0.15, 0.35) * sh), max(2, int(0.07 * sh))
    cv2.circle(disc, (sx, sy), sr, 1.0, -1, lineType=cv2.LINE_AA)
    disc = np.asarray(cv2.GaussianBlur(disc, (0, 0), 0.8), dtype=np.float32)
    glow = cv2.GaussianBlur(disc, (0, 0), sr * 1.5)
    disc_c = (
        np.array((230, 232, 240), np.float32)
        if night
        else _soften(palette[2 % len(palette)], 0.5, toward=255.0)
    )
    for layer, strength in ((glow, 0.5 if night else 0.6), (disc, 1.0)):
        a = np.clip(layer * strength, 0, 1)[..., None]
        img = img * (1 - a) + disc_c * a
        layers.append(DraftLayer(_flat(disc_c, sh, sw), a[..., 0], 0.2))
    xs = np.linspace(0, 1, sw, dtype=np.float32)
    rows = np.arange(sh, dtype=np.float32)[:, None]
    hills = 2 if water else 3
    for i in range(hills):
        base = (0.5 if water else 0.55) + 0.1 * i
        ridge = base + sum(
            float(rng.uniform(0.02, 0.06))
            / (j + 1)
            * np.sin(2 * np.pi * (j + 1) * xs * rng.uniform(0.6, 1.4) + rng.uniform(0, 6.3))
            for j in range(3)
        )
        fill = np.clip((rows - ridge[None, :] * sh) / 1.2 + 0.5, 0, 1)[..., None]
        color = _soften(palette[(3 + i) % len(palette)], 0.1, toward=20.0 + 30 * i) * (0.9 - 0.15 * i)
        if night:
            color *= 0.45
        img = img * (1 - fill) + color * fill
        layers.append(DraftLayer(_flat(color, sh, sw), np.asarray(fill[..., 0], np.float32), 0.4 + 0.2 * i))
    if water:
        level = 0.66
        below = rows[:, 0] >= level * sh
        mirror = img[np.clip((2 * level * sh - rows[:, 0]).astype(int), 0, sh - 1)]
        tint = _soften(palette[1 % len(palette)], 0.3, toward=60.0 if not night else 15.0)
        ripple = 0.08 * np.sin(rows * 0.9 + rng.uniform(0, 6.3))[..., None]
        water_px = mirror * (0.55 + ripple) + tint * 0.45
        img[below] = water_px[below]
        coverage = np.broadcast_to(below[:, None], (sh, sw)).astype(np.float32)
        layers.append(DraftLayer(np.asarray(water_px, np.float32), coverage, 1.0))
    return img, layers


def _flat(color: npt.NDArray[np.float32], h: int, w: int) -> npt.NDArray[np.float32]:
    return np.broadcast_to(np.asarray(color, np.float32), (h, w, 3))


def cover(rgb: RGB, width: int, height: int, *, max_side: int | None = None) -> RGB:
    """``rgb`` scaled (never stretched) to cover ``width`` × ``height`` and centre-cropped.

    With ``max_side``, the result is at most that many pixels on its long side (the caller scales
    it up when drawing): a small photo is not enlarged here only to be resampled again.
    """
    ih, iw = rgb.shape[:2]
    target_w, target_h = width, height
    if max_side is not None and max(width, height) > max_side:
        f = max_side / max(width, height)
        target_w, target_h = max(2, round(width * f)), max(2, round(height * f))
    scale = max(target_w / iw, target_h / ih)
    crop_w, crop_h = min(iw, math.ceil(target_w / scale)), min(ih, math.ceil(target_h / scale))
    x0, y0 = (iw - crop_w) // 2, (ih - crop_h) // 2
    crop = rgb[y0 : y0 + crop_h, x0 : x0 + crop_w]
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    return np.asarray(cv2.resize(crop, (target_w, target_h), interpolation=interp), dtype=np.uint8)
