"""Photo-like pictures painted in code, and scikit-image's sample photos when it is installed.

Real photos have shading, texture, noise and cluttered backgrounds; these painters give the
compositor's cut-out and layout something like that to chew on, with a known true subject mask.
"""

from __future__ import annotations

from importlib.util import find_spec
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

Image = npt.NDArray[np.uint8]


def sample_photo(name: str) -> Path | None:
    """Path of one of scikit-image's sample photos (``astronaut.png``, ``coffee.png``…), if installed."""
    spec = find_spec("skimage")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / name
    return path if path.exists() else None


def subject_on_clutter(
    seed: int = 0, size: tuple[int, int] = (360, 480), colour: tuple[int, int, int] = (200, 60, 40)
) -> tuple[Image, npt.NDArray[np.bool_]]:
    """A shaded figure (head and body) on a textured, cluttered background; returns (rgb, true mask)."""
    rng = np.random.default_rng(seed)
    w, h = size
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    # background: a wall gradient, blurred blocks (shelves, boxes), fine noise texture
    bg = np.dstack([150 + 40 * xx / w, 140 + 30 * yy / h, 120 + 20 * (1 - yy / h)])
    clutter = np.zeros((h, w, 3), np.float32)
    for _ in range(14):
        x0, y0 = int(rng.uniform(0, w)), int(rng.uniform(0, h))
        x1, y1 = x0 + int(rng.uniform(20, 90)), y0 + int(rng.uniform(20, 90))
        cv2.rectangle(clutter, (x0, y0), (x1, y1), tuple(float(c) for c in rng.uniform(60, 200, 3)), -1)
    has = clutter.sum(axis=2, keepdims=True) > 0
    bg = np.where(has, 0.6 * clutter + 0.4 * bg, bg)
    bg = cv2.GaussianBlur(bg, (0, 0), 2.0) + rng.normal(0, 7, (h, w, 3))
    # subject: an ellipse body and a round head, lit from the top left
    mask = np.zeros((h, w), np.uint8)
    cv2.ellipse(mask, (w // 2, int(h * 0.66)), (int(w * 0.24), int(h * 0.26)), 0, 0, 360, 255, -1)
    cv2.circle(mask, (w // 2, int(h * 0.3)), int(w * 0.14), 255, -1)
    shade = 0.55 + 0.45 * np.clip(1.2 - (xx / w * 0.6 + yy / h * 0.8), 0, 1)
    subject = np.array(colour, np.float32) * shade[..., None] + rng.normal(0, 5, (h, w, 3))
    cv2.circle(subject, (w // 2 - 18, int(h * 0.28)), 6, (20, 20, 20), -1)
    cv2.circle(subject, (w // 2 + 18, int(h * 0.28)), 6, (20, 20, 20), -1)
    truth = mask > 0
    img = np.where(truth[..., None], subject, bg)
    return np.clip(img, 0, 255).astype(np.uint8), truth


def landscape(seed: int = 0, size: tuple[int, int] = (480, 320)) -> Image:
    """Sky, distant hills, a meadow: scenery with no subject to cut out."""
    rng = np.random.default_rng(seed)
    w, h = size
    y = np.linspace(0, 1, h, dtype=np.float32)[:, None, None]
    img = np.broadcast_to(
        np.array([90, 150, 230]) * (1 - y) + np.array([225, 215, 200]) * y, (h, w, 3)
    ).copy()
    xs = np.arange(w, dtype=np.float32)
    rows = np.arange(h, dtype=np.float32)[:, None]
    for i, colour in enumerate(((95, 125, 140), (70, 120, 70), (60, 140, 55))):
        ridge = (0.45 + 0.15 * i + 0.05 * np.sin(xs / w * 6.3 * (i + 1) + i)) * h
        fill = np.clip((rows - ridge[None, :]) / 2 + 0.5, 0, 1)[..., None]
        img = img * (1 - fill) + np.array(colour, np.float32) * fill
    img += rng.normal(0, 6, img.shape)
    return np.clip(cv2.GaussianBlur(img, (0, 0), 0.8), 0, 255).astype(np.uint8)


def write_rgb(path: Path, rgb: Image) -> Path:
    cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    return path
