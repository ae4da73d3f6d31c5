"""Benchmark the compositor's cut-out against known masks: accuracy (IoU) and time per picture.

    .venv/bin/python bench/cutout.py [--limit N]

Test pictures are composites whose truth is known exactly: a subject (a smooth, seeded blob filled
with the middle of one of scikit-image's colour photos: the astronaut's suit, the cat, the cup…) is
pasted, with a one-pixel soft edge, onto a background (textures, cluttered photos, plain studio
walls), either standing on the bottom edge or floating. Every subject meets every background.

One real photo is scored too: scikit-image's astronaut, against her outline traced by hand (hair,
face and neck, the helmet ring, the suit and the helmet she holds). Her dark collar shares its colours
with the photo's border, so a cut-out can lose her neck and come apart in two pieces (head and suit);
the benchmark says how many 8-connected pieces each method's mask has.

Two methods are scored on the same pictures: the one :func:`refgen.media.cutout.cut_out` ships and,
for comparison, GrabCut seeded from the border alone (three iterations at 256 px, the method the
compositor used before). Prints the mean and median IoU, the share of pictures with IoU ≥ 0.8, the
share of pictures whose mask is one piece, the time per picture, the mean IoU by background, and the
astronaut's IoU and pieces. Asserts nothing. Needs scikit-image (the ``dev`` extra) for the photos.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from importlib.util import find_spec
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from refgen.media import cutout
from refgen.media.backdrop import cover
from refgen.media.images import load_rgba

RGB = npt.NDArray[np.uint8]
Truth = npt.NDArray[np.bool_]

ASTRONAUT = "astronaut.png"
ASTRONAUT_OUTLINE = (
    *((175, 25), (200, 17), (232, 14), (262, 18), (285, 33), (298, 55), (302, 85), (296, 108)),
    *((284, 122), (272, 140), (266, 152), (280, 163), (296, 185), (305, 210), (307, 235), (322, 240)),
    *((340, 260), (352, 286), (362, 331), (370, 341), (385, 343), (440, 356), (475, 381), (495, 416)),
    *((500, 466), (505, 511), (25, 511), (20, 456), (20, 381), (30, 286), (50, 256), (60, 240)),
    *((100, 232), (117, 190), (130, 165), (150, 150), (175, 146), (184, 140), (180, 125), (162, 106)),
    *((152, 78), (158, 45)),
)
"""The astronaut's outline in her 512 px photo, traced by hand (x, y), clockwise from her hair."""
SUBJECTS = (ASTRONAUT, "chelsea.png", "coffee.png", "motorcycle_left.png", "retina.jpg", "color.png")
PHOTO_BACKGROUNDS = (
    "brick.png",
    "grass.png",
    "gravel.png",
    "rocket.jpg",
    "hubble_deep_field.jpg",
    "motorcycle_right.png",
    "camera.png",
)
SIZES = ((640, 480), (480, 640), (600, 400), (512, 512))


def photo_folder() -> Path | None:
    spec = find_spec("skimage")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "data"
    return folder if all((folder / n).exists() for n in SUBJECTS + PHOTO_BACKGROUNDS) else None


def photo(folder: Path, name: str) -> RGB:
    return np.ascontiguousarray(load_rgba((folder / name).read_bytes())[..., :3])


def studio_wall(w: int, h: int, rng: np.random.Generator) -> RGB:
    """A plain backdrop: a soft vertical gradient in a seeded light colour, with sensor noise."""
    top = rng.uniform(150, 235, 3)
    bottom = top * rng.uniform(0.6, 0.9)
    ramp = np.linspace(0.0, 1.0, h)[:, None, None]
    wall = top * (1 - ramp) + bottom * ramp + rng.normal(0, 3, (h, w, 3))
    return np.clip(wall, 0, 255).astype(np.uint8)


def blob(w: int, h: int, rng: np.random.Generator) -> Truth:
    """A smooth, seeded, roughly convex shape filling most of a ``w``×``h`` box."""
    theta = np.linspace(0, 2 * math.pi, 180, endpoint=False)
    radius = np.ones_like(theta)
    for k in range(2, 6):
        radius += rng.uniform(0.02, 0.12) / k * np.cos(k * theta + rng.uniform(0, 2 * math.pi))
    radius /= radius.max()
    points = np.stack([w / 2 + 0.5 * w * radius * np.cos(theta), h / 2 + 0.5 * h * radius * np.sin(theta)], 1)
    mask = np.zeros((h, w), np.uint8)
    cv2.fillPoly(mask, [np.round(points).astype(np.int32)], 255)
    return mask > 0


def composites(folder: Path) -> list[tuple[str, RGB, Truth]]:
    """Every subject on every background: (background name, picture, true mask)."""
    rng = np.random.default_rng(7)
    subjects = [photo(folder, n) for n in SUBJECTS]
    photos = {name: photo(folder, name) for name in PHOTO_BACKGROUNDS}
    names = [*PHOTO_BACKGROUNDS, *(f"studio wall {i + 1}" for i in range(3))]
    out = []
    for i, name in enumerate(names):
        for j, source in enumerate(subjects):
            w, h = SIZES[(i + j) % len(SIZES)]
            picture = cover(photos[name], w, h) if name in photos else studio_wall(w, h, rng)
            sw = round(w * rng.uniform(0.35, 0.6))
            sh = min(round(sw * rng.uniform(0.8, 1.5)), round(h * 0.8))
            shape = blob(sw, sh, rng)
            sh_, sw_ = source.shape[:2]
            middle = source[sh_ // 4 : sh_ - sh_ // 4, sw_ // 4 : sw_ - sw_ // 4]
            fill = cover(middle, sw, sh)
            x = int(rng.integers(w // 10, w - sw - w // 10 + 1))
            y = h - sh if (i + j) % 3 == 0 else int(rng.integers(h // 10, h - sh - h // 20 + 1))
            alpha = cv2.GaussianBlur(shape.astype(np.float32), (0, 0), 0.8)[..., None]
            region = picture[y : y + sh, x : x + sw].astype(np.float32)
            picture[y : y + sh, x : x + sw] = np.clip(
                alpha * fill + (1 - alpha) * region + 0.5, 0, 255
            ).astype(np.uint8)
            truth = np.zeros((h, w), bool)
            truth[y : y + sh, x : x + sw] = shape
            out.append((name, picture, truth))
    return out


def astronaut(folder: Path) -> tuple[RGB, Truth]:
    """The astronaut photo and its hand-traced subject mask."""
    picture = photo(folder, ASTRONAUT)
    mask = np.zeros(picture.shape[:2], np.uint8)
    cv2.fillPoly(mask, [np.array(ASTRONAUT_OUTLINE, np.int32)], 255)
    return picture, mask > 0


def pieces(found: npt.NDArray[np.uint8] | None) -> int:
    """How many 8-connected pieces a mask has."""
    if found is None:
        return 0
    count, _ = cv2.connectedComponents((found > 127).astype(np.uint8), connectivity=8)
    return int(count) - 1


def shipped(picture: RGB) -> npt.NDArray[np.uint8] | None:
    cut = cutout.cut_out(np.dstack([picture, np.full(picture.shape[:2], 255, np.uint8)]))
    return None if cut.source == "card" else cut.mask  # a card would be the whole picture


def border_seeded(picture: RGB) -> npt.NDArray[np.uint8] | None:
    """GrabCut seeded from the border alone, three iterations at 256 px (the earlier method), cleaned
    and feathered the same way."""
    h, w = picture.shape[:2]
    fg = cutout.grabcut_mask(cutout.working_copy(picture, 256), None, iterations=3)
    return None if fg is None else cutout.feathered(fg, h, w)


def iou(found: npt.NDArray[np.uint8] | None, truth: Truth) -> float:
    if found is None:
        return 0.0
    hit = found > 127
    return float((hit & truth).sum() / max(1, (hit | truth).sum()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="score only the first N composites")
    args = parser.parse_args()
    folder = photo_folder()
    if folder is None:
        print("scikit-image's sample photos are not installed (pip install -e '.[dev]')")
        sys.exit(1)
    cases = composites(folder)[: args.limit]
    shipped(cases[0][1])  # warm OpenCV's colour tables up
    names = sorted({name for name, _, _ in cases}, key=[n for n, _, _ in cases].index)
    print(f"{len(cases)} composites: {len(SUBJECTS)} subjects × {len(names)} backgrounds")
    print(f"{'method':44} {'mean IoU':>8} {'median':>7} {'≥ 0.8':>6} {'1 piece':>8} {'per picture':>12}")
    by_background: dict[str, dict[str, list[float]]] = {}
    methods = (
        ("shipped: border + colour seed, 1 it, 192 px", shipped),
        ("border seed only, 3 it, 256 px", border_seeded),
    )
    for label, method in methods:
        scores, whole, elapsed = [], 0, 0.0
        for name, picture, truth in cases:
            started = time.perf_counter()
            found = method(picture)
            elapsed += time.perf_counter() - started
            scores.append(iou(found, truth))
            whole += pieces(found) == 1
            by_background.setdefault(name, {}).setdefault(label, []).append(scores[-1])
        good = sum(s >= 0.8 for s in scores) / len(scores)
        print(
            f"{label:44} {statistics.mean(scores):8.3f} {statistics.median(scores):7.3f} "
            f"{good:6.0%} {whole / len(cases):8.0%} {1000 * elapsed / len(cases):9.0f} ms"
        )
    print("mean IoU by background (shipped / border seed only):")
    for name in names:
        a, b = by_background[name].values()
        print(f"  {name:24} {statistics.mean(a):.3f} / {statistics.mean(b):.3f}")
    picture, truth = astronaut(folder)
    print("astronaut photo, outline traced by hand (IoU, 8-connected pieces):")
    for label, method in methods:
        found = method(picture)
        print(f"  {label:44} {iou(found, truth):.3f}, {pieces(found)} piece(s)")


if __name__ == "__main__":
    main()
